/*
 * review.js - the reviewer's view of Kivo claim reports, with no dependencies.
 *
 * One script, five pages, chosen by <body data-kivo="...">:
 *   run      a worker's claim_report.html (the per-run layout; `kivo-worker show --html`): the
 *            data embedded in a JSON script element
 *   runs     a page of the report store v2 (DIR/pages/NNNN.html): up to 500 runs, each in its own
 *            JSON script element, shown one at a time; #run=ID names the one on screen
 *   index    a worker's index.html: job summary (with its labeled evaluation and --group-by
 *            breakdown when it has them) and the runs to review
 *   compare  `kivo-worker compare --html`: two batches side by side, the regressed runs linking
 *            to their pages in both
 *   app      kivo-api's /app/: an API key in sessionStorage, hosted runs read from the JSON API,
 *            and private-worker runs (metadata only) grouped by workflow and batch
 *
 * Answers and sources are untrusted text. They only ever reach the page through textContent and
 * text nodes (never parsed as HTML), links are built from our own path components, and the page's
 * Content-Security-Policy allows no other script.
 */
(function () {
    'use strict';

    var doc = document;
    var SEVERITY = {fail: 2, needs_review: 1, pass: 0};
    var STATUS_WORD = {
        supported: 'supported', partially_supported: 'partially supported',
        unsupported: 'unsupported', contradicted: 'contradicted'
    };
    var PAGE_ROWS = 50;

    function el(tag, cls, text) {
        var e = doc.createElement(tag);
        if (cls)
            e.className = cls;
        if (text !== undefined && text !== null)
            e.textContent = String(text);
        return e;
    }

    function add(parent, child) {
        parent.appendChild(child);
        return child;
    }

    function txt(parent, s) {
        parent.appendChild(doc.createTextNode(String(s)));
    }

    /* A class-name-safe token of a value we expect to be a plain name. */
    function token(s) {
        return String(s).replace(/[^a-z_]/g, '');
    }

    function num(n, digits) {
        if (typeof n !== 'number' || !isFinite(n))
            return '-';
        return digits === undefined ? n.toLocaleString('en-US')
            : n.toLocaleString('en-US', {maximumFractionDigits: digits});
    }

    function badge(verdict) {
        return el('span', 'badge v-' + token(verdict), verdict);
    }

    function categories(parent, list) {
        (list || []).forEach(function (c) { add(parent, el('span', 'cat', c)); });
    }

    /* Claims and spans are byte offsets into UTF-8 text; JavaScript strings are UTF-16. */
    function bytesOf(text) {
        var bytes = new TextEncoder().encode(text || '');
        var dec = new TextDecoder();
        return {
            len: bytes.length,
            slice: function (a, b) { return dec.decode(bytes.subarray(a, b)); }
        };
    }

    function flagged(claim) {
        return claim.status !== 'supported';
    }

    /* ---- one run -------------------------------------------------------------------------- */

    var nav = null;     /* the run on screen: its flagged claims and how to select one */

    doc.addEventListener('keydown', function (ev) {
        var t = ev.target;
        if (!nav || ev.altKey || ev.ctrlKey || ev.metaKey ||
            (t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA')))
            return;
        if (ev.key === 'j' || ev.key === 'n') {
            nav.step(1);
            ev.preventDefault();
        } else if (ev.key === 'k' || ev.key === 'p') {
            nav.step(-1);
            ev.preventDefault();
        } else if ((ev.key === 'Enter' || ev.key === ' ') && t && t.dataset &&
                   t.dataset.claim !== undefined) {
            nav.select(Number(t.dataset.claim), false);
            ev.preventDefault();
        }
    });

    function findSource(packet, report, id) {
        var list = (packet && packet.sources) || [];
        for (var i = 0; i < list.length; i++)
            if (list[i].source_id === id)
                return list[i];
        var meta = report.sources || [];
        for (var k = 0; k < meta.length; k++)
            if (meta[k].source_id === id)
                return {source_id: id, title: meta[k].title, text: null};
        return {source_id: id, title: null, text: null};
    }

    function spanLabel(claim, k) {
        if (claim.status === 'supported')
            return k === 0 ? 'Supporting span' : 'Also supporting';
        if (claim.status === 'contradicted')
            return k === 0 ? 'Contradicting span' : 'Also relevant';
        return k === 0 ? 'Closest span (does not fully support the claim)' : 'Also relevant';
    }

    function renderEvidence(box, report, packet, claim) {
        box.textContent = '';
        add(box, el('h2', null, 'Claim ' + claim.claim_id));
        add(box, el('p', 'claim-text', claim.text));
        var line = add(box, el('p', 'meta'));
        add(line, el('span', 'claim s-' + token(claim.status),
                     STATUS_WORD[claim.status] || claim.status));
        txt(line, 'support score ' + num(claim.support_score, 4));
        if (claim.failure_category)
            add(line, el('span', 'cat', claim.failure_category));
        var words = claim.unsupported_spans || [];
        if (words.length) {
            var w = add(box, el('p', null, 'Not in the sources: '));
            words.forEach(function (u) {
                add(w, el('mark', 'claim s-' + token(claim.status), u.text));
                txt(w, ' ');
            });
        }
        var ev = claim.evidence || [];
        if (!ev.length)
            add(box, el('p', 'note', 'No source span supports this claim: nothing in the sources ' +
                                     'says it.'));
        ev.forEach(function (e, k) {
            var src = findSource(packet, report, e.source_id);
            var part = add(box, el('div', 'evidence'));
            var h = add(part, el('h3', null, spanLabel(claim, k) + ' in '));
            add(h, el('q', null, src.title || src.source_id));
            if (src.title)
                txt(h, ' (' + src.source_id + ')');
            var body = add(part, el('div', 'source-text'));
            if (typeof src.text !== 'string') {
                body.textContent = 'The source text is not available here (bytes ' + e.start +
                                   '..' + e.end + ' of ' + src.source_id + ').';
                return;
            }
            var b = bytesOf(src.text);
            var a = Math.min(e.start, b.len), z = Math.min(Math.max(e.end, a), b.len);
            txt(body, b.slice(0, a));
            var mark = add(body, el('mark', 'span', b.slice(a, z)));
            mark.setAttribute('data-evidence', String(k));
            txt(body, b.slice(z, b.len));
            /* Scroll the span into the box's view without moving the page. */
            requestAnimationFrame(function () {
                body.scrollTop = Math.max(0, mark.offsetTop - body.offsetTop - 60);
            });
        });
    }

    function renderRun(root, report, packet, opts) {
        opts = opts || {};
        root.textContent = '';
        doc.title = 'Kivo: ' + report.customer_run_id + ' (' + report.gate_verdict + ')';
        if (opts.back) {
            var back = add(root, el('p'));
            if (typeof opts.back === 'string') {
                var a = add(back, el('a', null, opts.backText || 'All runs'));
                a.href = opts.back;
            } else {
                var b = add(back, el('button', null, opts.backText || 'Back'));
                b.addEventListener('click', opts.back);
            }
        }
        var h1 = add(root, el('h1', null, report.customer_run_id + ' '));
        add(h1, badge(report.gate_verdict));
        var meta = add(root, el('div', 'meta'));
        function item(label, value) {
            var s = add(meta, el('span', null, label + ' '));
            add(s, el('b', null, value));
        }
        item('workflow', report.workflow_id);
        if (report.review_run_id)
            item('run', report.review_run_id);
        item('safe use', report.safe_use_status);
        item('claims', report.claim_count);
        item('unsupported', report.unsupported_claim_count);
        item('contradicted', report.contradicted_claim_count);
        item('partial', report.partially_supported_claim_count);
        item('policy', (report.strictness || '') + ' / ' + (report.intended_use || '') +
             (report.policy_version ? ' / ' + report.policy_version : ''));
        item('engine', report.engine_version);
        var cats = add(root, el('div'));
        categories(cats, report.failure_categories);

        var legend = add(root, el('div', 'legend'));
        ['supported', 'partially_supported', 'unsupported', 'contradicted'].forEach(function (s) {
            add(legend, el('span', 's-' + s, STATUS_WORD[s]));
        });
        var keys = add(legend, el('span', 'keys'));
        add(keys, el('kbd', null, 'j'));
        txt(keys, ' / ');
        add(keys, el('kbd', null, 'k'));
        txt(keys, ' next / previous flagged claim');

        var cols = add(root, el('div', 'cols'));
        var left = add(cols, el('section'));
        add(left, el('h2', null, 'Answer'));
        var answer = add(left, el('div', 'answer'));
        answer.id = 'answer';
        var right = add(cols, el('section'));
        var detail = add(right, el('div'));
        detail.id = 'evidence';

        var claims = report.claims || [];
        var marks = [], rows = [];
        if (packet && typeof packet.output === 'string') {
            var out = bytesOf(packet.output);
            var order = claims.map(function (c, i) { return i; });
            order.sort(function (x, y) { return claims[x].start - claims[y].start || x - y; });
            var pos = 0;
            order.forEach(function (i) {
                var c = claims[i];
                if (c.start < pos || c.end > out.len || c.end < c.start)
                    return;     /* overlapping or outside the output: listed below only */
                if (c.start > pos)
                    txt(answer, out.slice(pos, c.start));
                var m = add(answer, el('mark', 'claim s-' + token(c.status),
                                       out.slice(c.start, c.end)));
                m.tabIndex = 0;
                m.dataset.claim = String(i);
                m.title = (STATUS_WORD[c.status] || c.status) + ', support ' +
                          num(c.support_score, 4) +
                          (c.failure_category ? ', ' + c.failure_category : '');
                marks[i] = m;
                pos = c.end;
            });
            if (pos < out.len)
                txt(answer, out.slice(pos, out.len));
            if (!out.len)
                add(answer, el('span', 'muted', '(empty answer)'));
        } else {
            add(answer, el('span', 'muted', 'The answer text is not available (deleted, or not ' +
                                            'stored with this report). Claims are listed below.'));
        }

        add(left, el('h2', null, 'Claims'));
        var table = add(left, el('table'));
        var hr = add(add(table, el('thead')), el('tr'));
        ['#', 'status', 'support', 'category', 'claim'].forEach(function (h, k) {
            add(hr, el('th', k === 2 ? 'num' : null, h));
        });
        var tb = add(table, el('tbody'));
        claims.forEach(function (c, i) {
            var tr = add(tb, el('tr'));
            tr.tabIndex = 0;
            tr.dataset.claim = String(i);
            add(tr, el('td', null, c.claim_id));
            add(add(tr, el('td')), el('span', 'claim s-' + token(c.status),
                                      STATUS_WORD[c.status] || c.status));
            add(tr, el('td', 'num', num(c.support_score, 4)));
            add(tr, el('td', null, c.failure_category || ''));
            add(tr, el('td', 'wrap', c.text));
            rows[i] = tr;
        });
        if (!claims.length)
            add(left, el('p', 'muted', 'No claims: ' +
                                       ((report.failure_categories || []).join(', ') ||
                                        'nothing to check') + '.'));

        var flaggedList = [];
        claims.forEach(function (c, i) { if (flagged(c)) flaggedList.push(i); });
        var current = -1;
        function select(i, focus) {
            if (current >= 0) {
                if (marks[current]) marks[current].classList.remove('sel');
                if (rows[current]) rows[current].classList.remove('sel');
            }
            current = i;
            if (marks[i]) marks[i].classList.add('sel');
            if (rows[i]) rows[i].classList.add('sel');
            var target = marks[i] || rows[i];
            if (focus && target) {
                target.focus({preventScroll: true});
                target.scrollIntoView({block: 'nearest'});
            }
            renderEvidence(detail, report, packet, claims[i]);
        }
        function onClick(ev) {
            var t = ev.target.closest('[data-claim]');
            if (t)
                select(Number(t.dataset.claim), false);
        }
        answer.addEventListener('click', onClick);
        tb.addEventListener('click', onClick);
        nav = {
            select: select,
            step: function (dir) {
                if (!flaggedList.length)
                    return;
                var k = flaggedList.indexOf(current);
                k = k < 0 ? (dir > 0 ? 0 : flaggedList.length - 1)
                    : (k + dir + flaggedList.length) % flaggedList.length;
                select(flaggedList[k], true);
            }
        };
        if (flaggedList.length) {
            select(flaggedList[0], false);
        } else {
            add(detail, el('h2', null, 'Evidence'));
            add(detail, el('p', 'muted', claims.length ? 'No flagged claims. Click a claim to ' +
                                                         'see its evidence.' : 'Nothing to show.'));
        }
    }

    /* ---- a runs table with search and pages ------------------------------------------------ */

    /* rows: [{id, verdict, claims, unsupported, categories[, label]}]; opts.open(row) -> the
     * run's link; opts.label adds a label column; opts.choices replaces the verdict filter's. */
    function runsTable(parent, rows, opts) {
        var bar = add(parent, el('div', 'toolbar'));
        var search = add(bar, el('input'));
        search.type = 'search';
        search.placeholder = opts.searchHint || 'search run id or category';
        search.setAttribute('aria-label', 'search runs');
        var verdict = add(bar, el('select'));
        verdict.setAttribute('aria-label', 'verdict');
        (opts.choices ||
         [['', 'fail and needs_review'], ['fail', 'fail'], ['needs_review', 'needs_review']])
            .forEach(function (o) {
                var op = add(verdict, el('option', null, o[1]));
                op.value = o[0];
            });
        var count = add(bar, el('span', 'muted'));
        var table = add(parent, el('table'));
        var hr = add(add(table, el('thead')), el('tr'));
        ['verdict'].concat(opts.label ? ['label'] : [],
                           ['run', 'claims', 'unsupported', 'failure categories'])
            .forEach(function (h) {
                add(hr, el('th', h === 'claims' || h === 'unsupported' ? 'num' : null, h));
            });
        var tb = add(table, el('tbody'));
        var pager = add(parent, el('div', 'pager'));
        var prev = add(pager, el('button', null, 'Previous'));
        var where = add(pager, el('span', 'muted'));
        var next = add(pager, el('button', null, 'Next'));
        var page = 0, shown = rows;

        function draw() {
            tb.textContent = '';
            var pages = Math.max(1, Math.ceil(shown.length / PAGE_ROWS));
            page = Math.min(page, pages - 1);
            shown.slice(page * PAGE_ROWS, (page + 1) * PAGE_ROWS).forEach(function (r) {
                var tr = add(tb, el('tr'));
                add(add(tr, el('td')), badge(r.verdict));
                if (opts.label)
                    add(tr, el('td', null, r.label));
                add(add(tr, el('td', 'wrap')), opts.open(r));
                add(tr, el('td', 'num', num(r.claims)));
                add(tr, el('td', 'num', num(r.unsupported)));
                categories(add(tr, el('td')), r.categories);
            });
            count.textContent = num(shown.length) + (shown.length === 1 ? ' run' : ' runs');
            where.textContent = 'page ' + (page + 1) + ' of ' + pages;
            prev.disabled = page === 0;
            next.disabled = page >= pages - 1;
        }
        function filter() {
            var q = search.value.trim().toLowerCase(), v = verdict.value;
            shown = rows.filter(function (r) {
                if (v && r.verdict !== v)
                    return false;
                if (!q)
                    return true;
                return String(r.id).toLowerCase().indexOf(q) >= 0 ||
                       (r.categories || []).join(' ').indexOf(q) >= 0;
            });
            page = 0;
            draw();
        }
        search.addEventListener('input', filter);
        verdict.addEventListener('change', filter);
        prev.addEventListener('click', function () { page--; draw(); });
        next.addEventListener('click', function () { page++; draw(); });
        draw();
    }

    /* ---- the worker's job index ------------------------------------------------------------- */

    function hrefOf(dir, file) {
        return String(dir).split('/').map(encodeURIComponent).join('/') + '/' + file;
    }

    /* A '/'-separated path of ours, each part encoded, with an optional "#run=ID" fragment whose
     * id is raw (any bytes, '#' included): the link to a run on a page of the store v2. */
    function pathHref(p) {
        p = String(p);
        var at = p.indexOf('#'), frag = '';
        if (at >= 0) {
            frag = p.slice(at + 1);
            p = p.slice(0, at);
            frag = '#' + (frag.indexOf('run=') === 0 ? 'run=' + encodeURIComponent(frag.slice(4))
                                                     : encodeURIComponent(frag));
        }
        return p.split('/').map(encodeURIComponent).join('/') + frag;
    }

    /* The link to a run from index.html: its page of the store v2 (page_file), or its folder in
     * the per-run layout (dir); a run with no page in the store v2 is named only. */
    function runLink(r) {
        if (r.page_file)
            return linkTo(r.id, pathHref(r.page_file + '#run=' + r.id));
        if (r.dir)
            return linkTo(r.id, hrefOf(r.dir, r.page ? 'claim_report.html' : 'claim_report.json'));
        var s = el('span', null, r.id);
        s.title = 'no page: kivo-worker show prints its report';
        return s;
    }

    function linkTo(text, href) {
        var a = el('a', null, text);
        a.href = href;
        return a;
    }

    function renderIndex(root, data) {
        var s = data.summary || {};
        var v = s.verdicts || {};
        doc.title = 'Kivo batch: ' + s.workflow_id;
        add(root, el('h1', null, 'Kivo batch: ' + s.workflow_id));
        add(root, el('div', 'meta', (s.batch_id ? 'batch ' + s.batch_id + ' · ' : '') +
                                    s.worker_version + ' · ' + s.engine_version + ' · ' +
                                    num(s.files) + ' input files'));
        var cards = add(root, el('div', 'cards'));
        function card(n, label, cls) {
            var c = add(cards, el('div', 'card'));
            add(c, el('div', 'n' + (cls ? ' ' + cls : ''), n));
            add(c, el('div', 'l', label));
            return c;
        }
        card(num(s.records_reviewed), 'runs reviewed');
        card(num(v.fail), 'fail');
        card(num(v.needs_review), 'needs review');
        card(num(v.pass), 'pass');
        card(num(s.records_rejected), 'records rejected');
        card(num(s.claims), 'claims');
        card(num(s.unsupported_claims), 'unsupported claims');
        card(num(s.records_per_s, 0), 'records/s');
        card(num(s.mb_per_s, 1), 'MB/s');
        card(num(s.seconds, 2), 'seconds on ' + num(s.threads) + ' threads');

        add(root, el('h2', null, 'Failure categories (runs with each)'));
        var bars = add(root, el('div', 'bars'));
        bars.id = 'categories';
        var fc = s.failure_categories || {};
        var names = Object.keys(fc);
        var max = 0;
        names.forEach(function (k) { max = Math.max(max, fc[k]); });
        names.forEach(function (k) {
            add(bars, el('span', null, k));
            var track = add(bars, el('div'));
            var b = add(track, el('div', fc[k] ? 'bar' : 'bar zero'));
            b.style.width = (max ? Math.max(0.5, 100 * fc[k] / max) : 0.5) + '%';
            b.title = k + ': ' + fc[k];
            add(bars, el('span', 'num', num(fc[k])));
        });

        if (s.evaluation)
            renderEvaluation(root, s.evaluation, data.disagreements);
        Object.keys(s.groups || {}).forEach(function (name) {
            renderGroup(root, name, s.groups[name]);
        });

        add(root, el('h2', null, 'Rejected records'));
        if (!s.records_rejected) {
            add(root, el('p', 'muted', 'None: every record was reviewed.'));
        } else {
            var p = add(root, el('p', null, num(s.records_rejected) + ' records were not ' +
                                            'reviewed (' + num(s.duplicate_run_ids) +
                                            ' duplicate run ids). All of them, with file, line ' +
                                            'and reason, are in '));
            var link = add(p, el('a', null, 'rejects.jsonl'));
            link.href = 'rejects.jsonl';
            txt(p, '.');
            var rej = data.rejects || [];
            if (rej.length) {
                var t = add(root, el('table'));
                var h = add(add(t, el('thead')), el('tr'));
                ['file', 'line', 'reason'].forEach(function (x) { add(h, el('th', null, x)); });
                var body = add(t, el('tbody'));
                rej.forEach(function (r) {
                    var tr = add(body, el('tr'));
                    add(tr, el('td', null, r.file));
                    add(tr, el('td', 'num', num(r.line)));
                    add(tr, el('td', 'wrap', r.reason));
                });
                if (rej.length < s.records_rejected)
                    add(root, el('p', 'muted', 'The first ' + num(rej.length) + ' are shown.'));
            }
        }

        var runs = data.runs || [];
        add(root, el('h2', null, 'Runs to review, most severe first (' +
                                 num(data.flagged_total) + ')'));
        if (data.flagged_total > runs.length)
            add(root, el('p', 'note', 'This page lists the ' + num(runs.length) +
                                      ' most severe of ' + num(data.flagged_total) +
                                      ' flagged runs. Every run\'s verdict is in events.jsonl ' +
                                      'and its report under reports/ (kivo-worker show ' +
                                      'prints one).'));
        if (!data.flagged_total) {
            add(root, el('p', 'muted', 'No run needs review.'));
            return;
        }
        var list = add(root, el('div'));
        list.id = 'runs';
        runsTable(list, runs, {open: runLink});
    }

    function pct(x) {
        return typeof x === 'number' && isFinite(x) ? num(100 * x, 1) + '%' : '-';
    }

    function score(x) {
        return typeof x === 'number' && isFinite(x) ? x.toFixed(3) : '-';
    }

    function table(parent, heads, numeric) {
        var t = add(parent, el('table'));
        var hr = add(add(t, el('thead')), el('tr'));
        heads.forEach(function (h, k) { add(hr, el('th', numeric(k) ? 'num' : null, h)); });
        return add(t, el('tbody'));
    }

    function groupValue(td, v) {
        if (typeof v === 'string')
            td.textContent = v;
        else
            add(td, el('span', 'muted', '(no value)'));
    }

    /* The most frequent non-zero categories of a {name: count} map, "name n" each. */
    function topCategories(parent, cats, n) {
        Object.keys(cats || {}).filter(function (k) { return cats[k] > 0; })
            .sort(function (a, b) { return cats[b] - cats[a] || (a < b ? -1 : 1); })
            .slice(0, n).forEach(function (k) { add(parent, el('span', 'cat', k + ' ' + cats[k])); });
    }

    function renderEvaluation(root, e, dis) {
        var c = e.confusion || {};
        var h = add(root, el('h2', null, 'Labeled evaluation'));
        h.id = 'evaluation';
        add(root, el('p', 'muted', 'Kivo\'s flags (needs_review or fail) against the labels at ' +
                                   e.label_pointer + ' (positive: hallucinated). ' +
                                   num(e.labeled) + ' labeled runs, ' + num(e.unlabeled) +
                                   ' without a usable label.'));
        var cards = add(root, el('div', 'cards'));
        [['precision', e.precision], ['recall', e.recall], ['F1', e.f1],
         ['balanced accuracy', e.balanced_accuracy], ['accuracy', e.accuracy]]
            .forEach(function (x) {
                var card = add(cards, el('div', 'card'));
                add(card, el('div', 'n', score(x[1])));
                add(card, el('div', 'l', x[0]));
            });
        var tb = table(root, ['', 'labeled hallucinated', 'labeled faithful'],
                       function (k) { return k > 0; });
        tb.parentNode.id = 'confusion';
        tb.parentNode.className = 'narrow';
        [['flagged by Kivo', c.true_positive, c.false_positive],
         ['passed by Kivo', c.false_negative, c.true_negative]].forEach(function (r) {
            var tr = add(tb, el('tr'));
            add(tr, el('th', null, r[0]));
            add(tr, el('td', 'num', num(r[1])));
            add(tr, el('td', 'num', num(r[2])));
        });
        var runs = (dis && dis.runs) || [];
        var total = dis ? dis.total : 0;
        add(root, el('h3', null, 'Where Kivo and the labels disagree (' + num(total) + ')'));
        if (!total) {
            add(root, el('p', 'muted', 'Nowhere: every labeled run agrees.'));
            return;
        }
        if (total > runs.length)
            add(root, el('p', 'note', 'The first ' + num(runs.length) + ' are listed.'));
        var box = add(root, el('div'));
        box.id = 'disagreements';
        runsTable(box, runs, {
            label: true,
            choices: [['', 'all'], ['pass', 'pass (missed)'], ['needs_review', 'needs_review'],
                      ['fail', 'fail']],
            open: runLink
        });
    }

    /* A "By NAME" table of group g: one row per value (and one for the other values), its first
     * cell the value, the rest filled by fill(tr, row). */
    function groupTable(root, name, g, heads, isNum, fill) {
        add(root, el('h2', null, 'By ' + name));
        var tb = table(root, heads, isNum);
        tb.parentNode.className = 'groups';
        var rows = (g.values || []).slice();
        if (g.other)
            rows.push(Object.assign({other: true}, g.other));
        rows.forEach(function (v) {
            var tr = add(tb, el('tr'));
            var td = add(tr, el('td', 'wrap'));
            if (v.other)
                add(td, el('span', 'muted', '(other values)'));
            else
                groupValue(td, v.value);
            fill(tr, v);
        });
    }

    function renderGroup(root, name, g) {
        var labeled = (g.values || []).some(function (v) { return !!v.evaluation; });
        var heads = ['value', 'runs', 'pass', 'needs review', 'fail', 'flag rate',
                     'top categories'];
        if (labeled)
            heads = heads.concat(['precision', 'recall', 'F1', 'balanced acc.']);
        var isNum = function (k) { return k > 0 && k !== 6; };
        groupTable(root, name, g, heads, isNum, function (tr, v) {
            var vv = v.verdicts || {};
            [v.runs, vv.pass, vv.needs_review, vv.fail].forEach(function (n) {
                add(tr, el('td', 'num', num(n)));
            });
            add(tr, el('td', 'num', pct(v.flag_rate)));
            topCategories(add(tr, el('td')), v.failure_categories, 3);
            if (labeled) {
                var e = v.evaluation || {};
                [e.precision, e.recall, e.f1, e.balanced_accuracy].forEach(function (x) {
                    add(tr, el('td', 'num', score(x)));
                });
            }
        });
    }

    /* ---- compare --html --------------------------------------------------------------------- */

    /* A link from the page to a run in one of the two stores: root (the way from the page's
     * folder to the store) and link (inside the store), both '/'-separated, each part encoded. */
    function storeHref(root, link) {
        return String(root).split('/').map(encodeURIComponent).join('/') + '/' + pathHref(link);
    }

    function pairsRow(tr, p) {
        var f = p.flag_rate || {};
        [p.paired, p.regressed, p.fixed, p.new_fail, p.fixed_fail, p.newly_flagged_claims]
            .forEach(function (n) { add(tr, el('td', 'num', num(n))); });
        add(tr, el('td', 'num', pct(f.baseline) + ' \u2192 ' + pct(f.candidate)));
        add(tr, el('td', 'num', (f.delta >= 0 ? '+' : '') + pct(f.delta) + ' [' +
                                pct(f.delta_ci95_low) + ', ' + pct(f.delta_ci95_high) + ']'));
        add(tr, el('td', 'num', typeof p.mcnemar_p === 'number' ? p.mcnemar_p.toPrecision(3)
                                                                 : '-'));
    }

    var PAIR_HEADS = ['paired', 'regressed', 'fixed', 'new fails', 'fixed fails',
                      'newly flagged claims', 'flag rate', 'change [95% CI]', 'McNemar p'];

    function renderCompare(root, data) {
        var o = data.overall || {};
        doc.title = 'Kivo compare';
        add(root, el('h1', null, 'Kivo compare'));
        [['baseline', data.baseline], ['candidate', data.candidate]].forEach(function (x) {
            var s = x[1] || {};
            var m = add(root, el('div', 'meta'));
            var b = add(m, el('span', null, x[0] + ' '));
            add(b, el('b', null, s.dir));
            add(m, el('span', null, num(s.runs) + ' runs'));
            add(m, el('span', null, 'batch ' + Object.keys(s.batch_ids || {}).join(', ')));
            add(m, el('span', null, 'engine ' + Object.keys(s.engine_versions || {}).join(', ')));
            add(m, el('span', null, 'policy ' + Object.keys(s.policies || {}).join(', ')));
            if (s.evaluation)
                add(m, el('span', null, 'F1 against labels ' + score(s.evaluation.f1)));
        });
        (data.warnings || []).forEach(function (w) {
            add(root, el('p', 'note warning', w));
        });
        var cards = add(root, el('div', 'cards'));
        var f = o.flag_rate || {};
        [[num(o.paired), 'paired runs'], [num(o.regressed), 'regressed'],
         [num(o.fixed), 'fixed'], [num(o.new_fail), 'new fails'],
         [num(o.fixed_fail), 'fixed fails'], [num(o.newly_flagged_claims), 'newly flagged claims'],
         [(f.delta >= 0 ? '+' : '') + pct(f.delta), 'flag rate change (' + pct(f.baseline) +
          ' \u2192 ' + pct(f.candidate) + '; 95% CI ' + pct(f.delta_ci95_low) + ' to ' +
          pct(f.delta_ci95_high) + ')'],
         [typeof o.mcnemar_p === 'number' ? o.mcnemar_p.toPrecision(3) : '-',
          'exact McNemar p'],
         [num((data.unpaired_baseline || {}).total), 'only in the baseline'],
         [num((data.unpaired_candidate || {}).total), 'only in the candidate']]
            .forEach(function (x) {
                var c = add(cards, el('div', 'card'));
                add(c, el('div', 'n', x[0]));
                add(c, el('div', 'l', x[1]));
            });

        add(root, el('h2', null, 'Verdicts: baseline (rows) to candidate (columns)'));
        var names = ['pass', 'needs_review', 'fail'];
        var tt = table(root, [''].concat(names), function (k) { return k > 0; });
        tt.parentNode.id = 'transitions';
        tt.parentNode.className = 'narrow';
        names.forEach(function (b) {
            var tr = add(tt, el('tr'));
            add(add(tr, el('th')), badge(b));
            names.forEach(function (c) {
                var n = ((o.transitions || {})[b] || {})[c];
                var td = add(tr, el('td', 'num', num(n)));
                if (SEVERITY[c] > SEVERITY[b] && n)
                    td.className = 'num worse';
            });
        });

        add(root, el('h2', null, 'Failure categories (paired runs with each)'));
        var ct = table(root, ['category', 'baseline', 'candidate', 'change'],
                       function (k) { return k > 0; });
        var fc = o.failure_categories || {};
        Object.keys(fc).forEach(function (k) {
            var tr = add(ct, el('tr'));
            add(tr, el('td', null, k));
            add(tr, el('td', 'num', num(fc[k].baseline)));
            add(tr, el('td', 'num', num(fc[k].candidate)));
            add(tr, el('td', 'num', (fc[k].delta > 0 ? '+' : '') + num(fc[k].delta)));
        });

        Object.keys(data.groups || {}).forEach(function (name) {
            groupTable(root, name, data.groups[name], ['value'].concat(PAIR_HEADS),
                       function (k) { return k > 0; }, pairsRow);
        });

        var reg = data.regressed_runs || {};
        var runs = reg.runs || [];
        add(root, el('h2', null, 'Regressed runs, most severe first (' + num(reg.total) + ')'));
        if (!reg.total) {
            add(root, el('p', 'muted', 'None: no run got a more severe verdict.'));
        } else {
            if (reg.total > runs.length)
                add(root, el('p', 'note', 'The ' + num(runs.length) + ' most severe are listed.'));
            var box = add(root, el('div'));
            box.id = 'regressed';
            regressedTable(box, runs, data);
        }
        [['unpaired_baseline', 'Only in the baseline'],
         ['unpaired_candidate', 'Only in the candidate']].forEach(function (x) {
            var u = data[x[0]] || {};
            add(root, el('h2', null, x[1] + ' (' + num(u.total) + ')'));
            if (!u.total) {
                add(root, el('p', 'muted', 'None.'));
                return;
            }
            var ul = add(root, el('p', 'wrap'));
            (u.runs || []).forEach(function (r, i) {
                if (i)
                    txt(ul, ', ');
                add(ul, el('span', null, r.customer_run_id));
            });
            if (u.total > (u.runs || []).length)
                txt(ul, ' \u2026 (the first ' + num((u.runs || []).length) + ')');
        });
    }

    function regressedTable(parent, rows, data) {
        var bar = add(parent, el('div', 'toolbar'));
        var search = add(bar, el('input'));
        search.type = 'search';
        search.placeholder = 'search run id or category';
        search.setAttribute('aria-label', 'search regressed runs');
        var count = add(bar, el('span', 'muted'));
        var tb = table(parent, ['baseline', 'candidate', 'run', 'newly flagged claims',
                                'failure categories now', 'pages'],
                       function (k) { return k === 3; });
        var pager = add(parent, el('div', 'pager'));
        var prev = add(pager, el('button', null, 'Previous'));
        var where = add(pager, el('span', 'muted'));
        var next = add(pager, el('button', null, 'Next'));
        var page = 0, shown = rows;
        function link(td, root, href, label) {
            if (typeof href !== 'string') {
                add(td, el('span', 'muted', label + ': no page'));
                return;
            }
            var a = add(td, el('a', null, label));
            a.href = storeHref(root, href);
        }
        function draw() {
            tb.textContent = '';
            var pages = Math.max(1, Math.ceil(shown.length / PAGE_ROWS));
            page = Math.min(page, pages - 1);
            shown.slice(page * PAGE_ROWS, (page + 1) * PAGE_ROWS).forEach(function (r) {
                var tr = add(tb, el('tr'));
                add(add(tr, el('td')), badge(r.baseline_verdict));
                add(add(tr, el('td')), badge(r.candidate_verdict));
                add(tr, el('td', 'wrap', r.customer_run_id));
                add(tr, el('td', 'num', num(r.newly_flagged_claims)));
                categories(add(tr, el('td')), r.candidate_categories);
                var td = add(tr, el('td'));
                link(td, data.baseline_root, r.baseline_link, 'baseline');
                txt(td, ' \u00b7 ');
                link(td, data.candidate_root, r.candidate_link, 'candidate');
            });
            count.textContent = num(shown.length) + (shown.length === 1 ? ' run' : ' runs');
            where.textContent = 'page ' + (page + 1) + ' of ' + pages;
            prev.disabled = page === 0;
            next.disabled = page >= pages - 1;
        }
        search.addEventListener('input', function () {
            var q = search.value.trim().toLowerCase();
            shown = rows.filter(function (r) {
                return !q || String(r.customer_run_id).toLowerCase().indexOf(q) >= 0 ||
                       (r.candidate_categories || []).join(' ').indexOf(q) >= 0;
            });
            page = 0;
            draw();
        });
        prev.addEventListener('click', function () { page--; draw(); });
        next.addEventListener('click', function () { page++; draw(); });
        draw();
    }

    /* ---- a page of runs (report store v2) ---------------------------------------------------- */

    /* head: {kind, index, page, prev}; the runs are the script.kivo-run elements, in input order;
     * #kivo-tail says whether a next page exists. One run is on screen at a time: the one the
     * fragment (#run=ID) names, else the first. [ and ] step through the page's runs. */
    function renderRunsPage(root, head) {
        var blocks = doc.querySelectorAll('script.kivo-run');
        var tailEl = doc.getElementById('kivo-tail');
        var tail = tailEl ? JSON.parse(tailEl.textContent) : {};
        var runs = [], byId = {};
        for (var i = 0; i < blocks.length; i++) {
            var d = JSON.parse(blocks[i].textContent);
            byId[d.report.customer_run_id] = runs.length;
            runs.push(d);
        }
        root.textContent = '';
        var bar = add(root, el('nav', 'toolbar'));
        bar.id = 'page-nav';
        if (head.index)
            add(bar, linkTo('Job index', pathHref(head.index)));
        add(bar, el('span', 'muted', 'page ' + num(head.page + 1) + ' \u00b7 ' + num(runs.length) +
                                     (runs.length === 1 ? ' run' : ' runs')));
        if (head.prev)
            add(bar, linkTo('Previous page', pathHref(head.prev))).id = 'prev-page';
        if (tail.next)
            add(bar, linkTo('Next page', pathHref(tail.next))).id = 'next-page';
        var prevRun = add(bar, el('button', null, 'Previous run'));
        prevRun.id = 'prev-run';
        var picker = add(bar, el('select'));
        picker.id = 'run-picker';
        picker.setAttribute('aria-label', 'run on this page');
        runs.forEach(function (d, k) {
            var op = add(picker, el('option', null, d.report.gate_verdict + ' \u00b7 ' +
                                                    d.report.customer_run_id));
            op.value = String(k);
        });
        var nextRun = add(bar, el('button', null, 'Next run'));
        nextRun.id = 'next-run';
        var keys = add(bar, el('span', 'keys'));
        add(keys, el('kbd', null, '['));
        txt(keys, ' / ');
        add(keys, el('kbd', null, ']'));
        txt(keys, ' previous / next run');
        var box = add(root, el('div'));
        box.id = 'run';
        var current = -1;

        function fromHash() {
            var h = location.hash;
            if (h.indexOf('#run=') !== 0)
                return 0;
            try {
                var id = decodeURIComponent(h.slice(5));
                return Object.prototype.hasOwnProperty.call(byId, id) ? byId[id] : 0;
            } catch (e) {
                return 0;
            }
        }
        function show(k, setHash) {
            if (!runs.length) {
                add(box, el('p', 'muted', 'No runs on this page.'));
                return;
            }
            k = Math.max(0, Math.min(runs.length - 1, k));
            current = k;
            picker.value = String(k);
            prevRun.disabled = k === 0;
            nextRun.disabled = k === runs.length - 1;
            renderRun(box, runs[k].report, runs[k].packet, {});
            if (setHash)
                history.replaceState(null, '', '#run=' +
                                     encodeURIComponent(runs[k].report.customer_run_id));
        }
        picker.addEventListener('change', function () { show(Number(picker.value), true); });
        prevRun.addEventListener('click', function () { show(current - 1, true); });
        nextRun.addEventListener('click', function () { show(current + 1, true); });
        window.addEventListener('hashchange', function () { show(fromHash(), false); });
        doc.addEventListener('keydown', function (ev) {
            var t = ev.target;
            if (ev.altKey || ev.ctrlKey || ev.metaKey ||
                (t && (t.tagName === 'INPUT' || t.tagName === 'SELECT' || t.tagName === 'TEXTAREA')))
                return;
            if (ev.key === '[' || ev.key === ']') {
                show(current + (ev.key === ']' ? 1 : -1), true);
                ev.preventDefault();
            }
        });
        show(fromHash(), false);
    }

    /* ---- kivo-api's /app/ ------------------------------------------------------------------- */

    function renderApp(root) {
        var KEY = 'kivo_api_key';
        var store = window.sessionStorage;
        root.textContent = '';
        add(root, el('h1', null, 'Kivo review runs'));
        var keyBar = add(root, el('form', 'toolbar'));
        keyBar.id = 'key-form';
        var keyIn = add(keyBar, el('input'));
        keyIn.type = 'password';
        keyIn.id = 'api-key';
        keyIn.autocomplete = 'off';
        keyIn.placeholder = 'API key (kivo_sk_…, review_runs:read)';
        keyIn.setAttribute('aria-label', 'API key');
        add(keyBar, el('button', null, 'Use key')).type = 'submit';
        var forget = add(keyBar, el('button', null, 'Forget key'));
        forget.type = 'button';
        add(keyBar, el('span', 'muted', 'kept in this tab only'));

        var filters = add(root, el('form', 'toolbar'));
        filters.id = 'filters';
        var verdict = add(filters, el('select'));
        verdict.id = 'verdict';
        verdict.setAttribute('aria-label', 'verdict');
        [['', 'any verdict'], ['needs_review', 'needs_review'], ['fail', 'fail'], ['pass', 'pass']]
            .forEach(function (o) {
                var op = add(verdict, el('option', null, o[1]));
                op.value = o[0];
            });
        var workflow = add(filters, el('input'));
        workflow.id = 'workflow';
        workflow.placeholder = 'workflow_id';
        workflow.setAttribute('aria-label', 'workflow');
        add(filters, el('button', null, 'Show runs')).type = 'submit';
        var status = add(root, el('p', 'muted'));
        status.id = 'status';
        var listBox = add(root, el('div'));
        listBox.id = 'runs';
        var more = add(root, el('button', null, 'More'));
        more.id = 'more';
        more.hidden = true;
        var detail = add(root, el('div'));
        detail.id = 'run';

        var cursor = null, table = null;

        function key() {
            return store.getItem(KEY) || '';
        }
        function say(msg, isError) {
            status.textContent = msg;
            status.className = isError ? 'error' : 'muted';
        }
        function api(path) {
            return fetch(path, {
                headers: {Authorization: 'Bearer ' + key(), Accept: 'application/json'},
                cache: 'no-store', credentials: 'omit', redirect: 'error'
            }).then(function (r) {
                return r.json().catch(function () { return {}; }).then(function (j) {
                    if (!r.ok)
                        throw new Error(r.status + ' ' +
                                        ((j.error && j.error.message) || r.statusText));
                    return j;
                });
            });
        }
        function row(tb, run) {
            var tr = add(tb, el('tr'));
            tr.tabIndex = 0;
            tr.dataset.run = run.review_run_id;
            add(tr, el('td', null, (run.created_at || '').replace('T', ' ').slice(0, 19)));
            add(add(tr, el('td')), badge(run.gate_verdict));
            var name = add(tr, el('td', 'wrap', run.title || run.customer_run_id));
            if (run.title)
                add(name, el('div', 'muted', run.customer_run_id));
            add(tr, el('td', 'wrap', run.workflow_id));
            add(tr, el('td', 'num', num(run.claim_count)));
            add(tr, el('td', 'num', num(run.unsupported_claim_count)));
            categories(add(tr, el('td')), run.failure_categories);
            add(tr, el('td', null, run.status));
        }
        function load(reset) {
            if (!key()) {
                say('Enter an API key with the review_runs:read scope.', false);
                return;
            }
            var q = ['limit=50'];
            if (verdict.value)
                q.push('gate_verdict=' + encodeURIComponent(verdict.value));
            if (workflow.value.trim())
                q.push('workflow_id=' + encodeURIComponent(workflow.value.trim()));
            if (!reset && cursor)
                q.push('cursor=' + encodeURIComponent(cursor));
            say('Loading…', false);
            api('/v1/review-runs?' + q.join('&')).then(function (page) {
                if (reset || !table) {
                    listBox.textContent = '';
                    table = add(listBox, el('table'));
                    var hr = add(add(table, el('thead')), el('tr'));
                    ['created', 'verdict', 'run', 'workflow', 'claims', 'unsupported',
                     'failure categories', 'status'].forEach(function (h, k) {
                        add(hr, el('th', k === 4 || k === 5 ? 'num' : null, h));
                    });
                    add(table, el('tbody'));
                }
                var tb = table.tBodies[0];
                (page.runs || []).forEach(function (r) { row(tb, r); });
                cursor = page.next_cursor || null;
                more.hidden = !cursor;
                say(tb.rows.length ? tb.rows.length + ' runs' + (cursor ? ' (more below)' : '') :
                    'No runs match.', false);
            }).catch(function (e) { say(e.message, true); });
        }
        function open(id) {
            say('Loading run…', false);
            var base = '/v1/review-runs/' + encodeURIComponent(id);
            Promise.all([api(base + '/report'), api(base + '/packet')]).then(function (res) {
                listBox.hidden = true;
                more.hidden = true;
                filters.hidden = true;
                say('', false);
                /* The run's id in the fragment: a reload (same tab, same key) shows it again. */
                history.replaceState(null, '', '#' + encodeURIComponent(id));
                renderRun(detail, res[0], res[1], {back: close, backText: 'Back to runs'});
            }).catch(function (e) { say(e.message, true); });
        }
        function close() {
            detail.textContent = '';
            nav = null;
            history.replaceState(null, '', location.pathname + location.search);
            listBox.hidden = false;
            filters.hidden = false;
            more.hidden = !cursor;
            say(table ? table.tBodies[0].rows.length + ' runs' : '', false);
        }
        function pick(ev) {
            var tr = ev.target.closest('tr[data-run]');
            if (tr && (ev.type === 'click' || ev.key === 'Enter'))
                open(tr.dataset.run);
        }

        keyBar.addEventListener('submit', function (ev) {
            ev.preventDefault();
            if (keyIn.value.trim())
                store.setItem(KEY, keyIn.value.trim());
            keyIn.value = '';
            load(true);
        });
        forget.addEventListener('click', function () {
            store.removeItem(KEY);
            listBox.textContent = '';
            detail.textContent = '';
            table = null;
            cursor = null;
            more.hidden = true;
            say('Key forgotten.', false);
        });
        filters.addEventListener('submit', function (ev) {
            ev.preventDefault();
            close();
            load(true);
        });
        more.addEventListener('click', function () { load(false); });
        listBox.addEventListener('click', pick);
        listBox.addEventListener('keydown', pick);
        var pw = renderWorkerBatches(add(root, el('section')), api, key);
        keyBar.addEventListener('submit', function () { pw.load(); });
        forget.addEventListener('click', function () { pw.clear(); });
        load(true);
        pw.load();
        /* A fragment that is not valid percent-encoding ("#%E0%A4%A") names no run: ignore it
         * rather than let decodeURIComponent throw and blank the page. */
        var linked = '';
        try {
            linked = decodeURIComponent(location.hash.slice(1));
        } catch (e) {
            linked = '';
        }
        if (key() && /^[A-Za-z0-9_-]{1,79}$/.test(linked))
            open(linked);
    }

    /* Private-worker runs on /app/: Kivo holds only their metadata (verdict, counts, categories,
     * the customer's storage pointer, batch), never text. Batches are listed per workflow with
     * their verdict counts; two ticked batches are shown side by side; a batch opens its runs. */
    function renderWorkerBatches(box, api, key) {
        var VERDICTS = ['pass', 'needs_review', 'fail'];
        box.id = 'pw';
        add(box, el('h2', null, 'Private-worker batches'));
        add(box, el('p', 'muted', 'Metadata only: the reports stay in your storage. Needs an ' +
                    'API key with private_worker:read.'));
        var form = add(box, el('form', 'toolbar'));
        form.id = 'pw-filters';
        var wf = add(form, el('input'));
        wf.id = 'pw-workflow';
        wf.placeholder = 'workflow_id';
        wf.setAttribute('aria-label', 'private-worker workflow');
        add(form, el('button', null, 'Show batches')).type = 'submit';
        var cmp = add(form, el('button', null, 'Compare ticked batches'));
        cmp.type = 'button';
        cmp.id = 'pw-compare-btn';
        var status = add(box, el('p', 'muted'));
        status.id = 'pw-status';
        var list = add(box, el('div'));
        list.id = 'batches';
        var compare = add(box, el('div'));
        compare.id = 'pw-compare';
        var moreBatches = add(box, el('button', null, 'More batches'));
        moreBatches.id = 'pw-more';
        moreBatches.hidden = true;
        var runs = add(box, el('div'));
        runs.id = 'pw-runs';
        var moreRuns = add(box, el('button', null, 'More runs'));
        moreRuns.id = 'pw-runs-more';
        moreRuns.hidden = true;
        /* The batches listed so far (pages of 50 appended, newest first), the cursor of the next
         * page of batches, and the open batch with the cursor of its next page of runs. */
        var shown = [], cursor = null, opened = null, runsCursor = null, runsBody = null;

        function say(msg, isError) {
            status.textContent = msg;
            status.className = isError ? 'error' : 'muted';
        }
        function label(b) {
            return b.workflow_id + ' / ' + b.batch_id;
        }
        function rate(b, v) {
            return b.run_count ? num(100 * b.verdict_counts[v] / b.run_count, 1) + '%' : '-';
        }
        function load(more) {
            if (!key())
                return;
            var q = ['limit=50'];
            if (wf.value.trim())
                q.push('workflow_id=' + encodeURIComponent(wf.value.trim()));
            if (more && cursor)
                q.push('cursor=' + encodeURIComponent(cursor));
            say('Loading batches…', false);
            api('/v1/private-worker/batches?' + q.join('&')).then(function (page) {
                /* Ticks survive a "More": the list is drawn again with the new page appended. */
                var ticked = more ? Array.prototype.map.call(
                    list.querySelectorAll('input[data-pick]:checked'),
                    function (x) { return x.dataset.pick; }) : [];
                list.textContent = '';
                if (!more) {
                    compare.textContent = '';
                    runs.textContent = '';
                    moreRuns.hidden = true;
                    opened = null;
                    shown = [];
                }
                shown = shown.concat(page.batches || []);
                cursor = page.next_cursor || null;
                moreBatches.hidden = !cursor;
                /* Grouped by workflow, in the order the newest batch of each came. */
                var groups = [], byWf = {};
                shown.forEach(function (b, i) {
                    if (!byWf.hasOwnProperty(b.workflow_id)) {
                        byWf[b.workflow_id] = [];
                        groups.push(b.workflow_id);
                    }
                    byWf[b.workflow_id].push(i);
                });
                groups.forEach(function (w) {
                    add(list, el('h3', 'wrap', 'Workflow ' + w));
                    var t = add(list, el('table'));
                    t.className = 'batches';
                    var hr = add(add(t, el('thead')), el('tr'));
                    ['', 'batch', 'runs', 'pass', 'needs_review', 'fail', 'first run',
                     'last run'].forEach(function (h, k) {
                        add(hr, el('th', k >= 2 && k <= 5 ? 'num' : null, h));
                    });
                    var tb = add(t, el('tbody'));
                    byWf[w].forEach(function (i) {
                        var b = shown[i];
                        var tr = add(tb, el('tr'));
                        tr.tabIndex = 0;
                        tr.dataset.batch = String(i);
                        var tick = add(add(tr, el('td')), el('input'));
                        tick.type = 'checkbox';
                        tick.dataset.pick = String(i);
                        tick.checked = ticked.indexOf(String(i)) >= 0;
                        tick.setAttribute('aria-label', 'compare ' + label(b));
                        add(tr, el('td', 'wrap', b.batch_id));
                        add(tr, el('td', 'num', num(b.run_count)));
                        VERDICTS.forEach(function (v) {
                            add(tr, el('td', 'num', num(b.verdict_counts[v])));
                        });
                        add(tr, el('td', null, (b.first_created_at || '').replace('T', ' ')
                            .slice(0, 19)));
                        add(tr, el('td', null, (b.last_created_at || '').replace('T', ' ')
                            .slice(0, 19)));
                    });
                });
                say(shown.length ? shown.length + ' batches' + (cursor ? ' (more below)' : '') :
                    'No private-worker batches.', false);
            }).catch(function (e) { say(e.message, true); });
        }
        function sideBySide() {
            var picked = Array.prototype.map.call(
                list.querySelectorAll('input[data-pick]:checked'),
                function (x) { return shown[Number(x.dataset.pick)]; });
            compare.textContent = '';
            if (picked.length !== 2) {
                say('Tick exactly two batches to compare them.', true);
                return;
            }
            var a = picked[0], b = picked[1];
            add(compare, el('h3', 'wrap', label(a) + '  vs  ' + label(b)));
            var t = add(compare, el('table', 'narrow'));
            var hr = add(add(t, el('thead')), el('tr'));
            add(hr, el('th', null, ''));
            add(hr, el('th', 'num wrap', a.batch_id));
            add(hr, el('th', 'num wrap', b.batch_id));
            add(hr, el('th', 'num', 'change'));
            var tb = add(t, el('tbody'));
            function line(name, va, vb, text) {
                var tr = add(tb, el('tr'));
                tr.dataset.metric = name;
                add(tr, el('td', null, name));
                add(tr, el('td', 'num', text ? text(a) : num(va)));
                add(tr, el('td', 'num', text ? text(b) : num(vb)));
                var d = vb - va;
                add(tr, el('td', 'num', text ? '' : (d > 0 ? '+' : '') + num(d)));
            }
            line('runs', a.run_count, b.run_count);
            VERDICTS.forEach(function (v) {
                line(v, a.verdict_counts[v], b.verdict_counts[v]);
            });
            line('fail rate', 0, 0, function (x) { return rate(x, 'fail'); });
            say('', false);
        }
        function openBatch(b, more) {
            var q = ['limit=50', 'workflow_id=' + encodeURIComponent(b.workflow_id),
                     'batch_id=' + encodeURIComponent(b.batch_id)];
            if (more && runsCursor)
                q.push('cursor=' + encodeURIComponent(runsCursor));
            say('Loading runs…', false);
            api('/v1/private-worker/review-runs?' + q.join('&')).then(function (page) {
                if (!more || !runsBody) {
                    runs.textContent = '';
                    add(runs, el('h3', 'wrap', 'Runs of ' + label(b)));
                    var t = add(runs, el('table'));
                    var hr = add(add(t, el('thead')), el('tr'));
                    ['created', 'verdict', 'customer run', 'claims', 'unsupported',
                     'failure categories', 'report in your storage', 'batch', 'status']
                        .forEach(function (h, k) {
                            add(hr, el('th', k === 3 || k === 4 ? 'num' : null, h));
                        });
                    runsBody = add(t, el('tbody'));
                }
                opened = b;
                runsCursor = page.next_cursor || null;
                moreRuns.hidden = !runsCursor;
                var tb = runsBody;
                (page.runs || []).forEach(function (r) {
                    var tr = add(tb, el('tr'));
                    tr.dataset.pwRun = r.review_run_id;
                    add(tr, el('td', null, (r.created_at || '').replace('T', ' ').slice(0, 19)));
                    add(add(tr, el('td')), r.gate_verdict ? badge(r.gate_verdict)
                                                          : el('span', 'muted', '-'));
                    add(tr, el('td', 'wrap', r.customer_run_id));
                    add(tr, el('td', 'num', num(r.claim_count)));
                    add(tr, el('td', 'num', num(r.unsupported_claim_count)));
                    categories(add(tr, el('td')), r.redacted_failure_categories);
                    var sp = r.customer_storage_pointer;
                    var cell = add(tr, el('td', 'wrap', sp ? sp.label : '-'));
                    if (sp && sp.opaque_id)
                        add(cell, el('div', 'muted', sp.opaque_id));
                    add(tr, el('td', 'wrap', r.batch_id));
                    add(tr, el('td', null, r.status));
                });
                say(tb.rows.length + ' runs in ' + label(b) + (runsCursor ? ' (more below)' : ''),
                    false);
            }).catch(function (e) { say(e.message, true); });
        }
        function pickBatch(ev) {
            if (ev.target.dataset && ev.target.dataset.pick !== undefined)
                return;
            var tr = ev.target.closest('tr[data-batch]');
            if (tr && (ev.type === 'click' || ev.key === 'Enter'))
                openBatch(shown[Number(tr.dataset.batch)], false);
        }
        form.addEventListener('submit', function (ev) {
            ev.preventDefault();
            load();
        });
        cmp.addEventListener('click', sideBySide);
        moreBatches.addEventListener('click', function () { load(true); });
        moreRuns.addEventListener('click', function () {
            if (opened)
                openBatch(opened, true);
        });
        list.addEventListener('click', pickBatch);
        list.addEventListener('keydown', pickBatch);
        return {
            load: load,
            clear: function () {
                list.textContent = '';
                compare.textContent = '';
                runs.textContent = '';
                shown = [];
                cursor = runsCursor = opened = runsBody = null;
                moreBatches.hidden = moreRuns.hidden = true;
                say('', false);
            }
        };
    }

    /* ---- start ------------------------------------------------------------------------------ */

    function start() {
        var root = doc.getElementById('kivo');
        var mode = doc.body.getAttribute('data-kivo');
        try {
            if (mode === 'app') {
                renderApp(root);
                return;
            }
            var data = JSON.parse(doc.getElementById('kivo-data').textContent);
            if (mode === 'run')
                renderRun(root, data.report, data.packet,
                          {back: data.index, backText: 'Job index'});
            else if (mode === 'runs')
                renderRunsPage(root, data);
            else if (mode === 'index')
                renderIndex(root, data);
            else if (mode === 'compare')
                renderCompare(root, data);
        } catch (e) {
            root.textContent = '';
            add(root, el('p', 'error', 'This page could not be shown: ' + e.message));
        }
    }

    start();
})();
