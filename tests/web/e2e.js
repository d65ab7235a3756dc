#!/usr/bin/env node
/*
 * e2e.js - the reviewer's view in a real browser: Debian's chromium, headless, driven by
 * playwright-core (installed by scripts/install-browser.sh into tests/web/node_modules).
 *
 *   node tests/web/e2e.js --worker build/kivo-worker --api build/kivo-api --root . --out DIR
 *
 * 1. The worker's pages from file://, both layouts: the example job's index.html lists the
 *    flagged runs; a click opens a run (per-run: its claim_report.html; report store v2: its page
 *    pages/NNNN.html#run=ID with that run on screen); clicking a flagged claim shows its evidence
 *    span; j/k move between flagged claims. v2 also: [ and ] and the picker step through the
 *    page's runs (the fragment follows), the next/previous page links, a deep link opened
 *    directly, a fragment changed in place.
 * 2. The same for tests/web/xss.jsonl (script, "><img onerror> and javascript: text in run ids,
 *    answers and sources), on both layouts: the text shows literally, no dialog opens, no script
 *    of it runs, no <img> is made.
 * 3. A labeled batch's index.html shows its evaluation (scores, confusion table, the runs flag
 *    and label disagree on) and its --group-by tables; `compare --html` shows the transition
 *    table and the regressed runs (a hostile run id literally), and each regressed run's
 *    candidate link opens that run's claim page in the candidate batch.
 * 4. kivo-api's /app/ on a free loopback port with a temporary database: a hosted run with the
 *    same hostile text is listed (filters by verdict and workflow), opened, a flagged claim
 *    clicked and its evidence shown; the key lives in sessionStorage only; the CSP header is set.
 * 5. /app/'s private-worker part: batches of two releases grouped by workflow with exact verdict
 *    counts, two ticked batches side by side, one batch's runs (metadata only) with hostile ids
 *    and storage labels shown literally.
 *
 * Every page: no request leaves file:// (or the server's own origin), no CSP violation, no page
 * error. Screenshots go to DIR. Exits 1 on the first failure, and when the browser cannot be
 * started (no silent skip).
 */
'use strict';

const assert = require('assert');
const childProcess = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const url = require('url');

const CHROMIUM = process.env.KIVO_CHROMIUM || '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic',
              '--disable-background-networking', '--disable-component-update', '--disable-sync',
              '--no-first-run'];

function opts() {
    const o = {};
    const a = process.argv.slice(2);
    for (let i = 0; i < a.length; i += 2) {
        if (!a[i].startsWith('--') || a[i + 1] === undefined)
            throw new Error('usage: e2e.js --worker W --api A --root R --out DIR');
        o[a[i].slice(2)] = a[i + 1];
    }
    for (const k of ['worker', 'api', 'root', 'out']) {
        if (!o[k])
            throw new Error('missing --' + k);
        o[k] = path.resolve(o[k]);
    }
    return o;
}

function loadPlaywright() {
    try {
        return require(path.join(__dirname, 'node_modules', 'playwright-core'));
    } catch (e) {
        throw new Error('playwright-core is not installed in tests/web/node_modules: run ' +
                        'scripts/install-browser.sh (' + e.message + ')');
    }
}

let passed = 0;
const failures = [];

async function step(name, fn) {
    try {
        await fn();
        passed++;
        console.log('ok - ' + name);
    } catch (e) {
        failures.push(name);
        console.log('not ok - ' + name + '\n  ' + String(e.stack || e).split('\n').join('\n  '));
    }
}

function run(bin, args, input, env) {
    const p = childProcess.spawnSync(bin, args, {input, encoding: 'utf8', timeout: 120000,
                                                 env: env ? Object.assign({}, process.env, env)
                                                          : process.env});
    if (p.error)
        throw p.error;
    return p;
}

function freePort() {
    return new Promise((resolve, reject) => {
        const s = net.createServer();
        s.on('error', reject);
        s.listen(0, '127.0.0.1', () => {
            const port = s.address().port;
            s.close(() => resolve(port));
        });
    });
}

function sleep(ms) {
    return new Promise((r) => setTimeout(r, ms));
}

/* kivo-api serve on a free loopback port, its stdout and stderr written to logPath: {server,
 * port, base}. freePort() only finds a port that was free a moment ago: another test running at
 * the same time can take it before the server binds it. Then the server exits saying the port is
 * in use and is started again on a new one (five tries). It is up once its own log says it
 * listens on the port and /healthz answers (an answer alone could come from another test's
 * kivo-api on that port). Any other failure throws, with the end of the log. */
async function startApi(o, db, args, logPath) {
    for (let attempt = 1; attempt <= 5; attempt++) {
        const port = await freePort();
        const base = 'http://127.0.0.1:' + port;
        /* A new log at the first try; the tries after it append. */
        const mark = attempt === 1 ? 0 : fs.statSync(logPath).size;
        const log = fs.openSync(logPath, attempt === 1 ? 'w' : 'a');
        const server = childProcess.spawn(o.api, ['serve', '--listen', '127.0.0.1:' + port,
                                                  '--db', db, ...args],
                                          {stdio: ['ignore', log, log]});
        fs.closeSync(log);
        const since = () => fs.readFileSync(logPath).subarray(mark).toString('utf8');
        const exited = () => server.exitCode !== null || server.signalCode !== null;
        for (let i = 0; i < 1200 && !exited(); i++) {
            if (since().includes('listening on 127.0.0.1:' + port + ' ') &&
                await fetch(base + '/healthz').then((r) => r.ok, () => false))
                return {server, port, base};
            await sleep(50);
        }
        if (exited() && since().includes('is already in use'))
            continue;
        if (!exited())
            server.kill('SIGKILL');
        throw new Error('kivo-api did not start on ' + base + '; its log:\n' + since().slice(-2000));
    }
    throw new Error('kivo-api found five free ports taken in turn');
}

/* A page with every guard on: dialogs, page errors, CSP violations, requests leaving `origin`. */
async function guardedPage(browser, origin) {
    const context = await browser.newContext({viewport: {width: 1280, height: 900}});
    const page = await context.newPage();
    const seen = {dialogs: [], errors: [], csp: [], offsite: [], paths: []};
    page.on('dialog', (d) => {
        seen.dialogs.push(d.type() + ': ' + d.message());
        d.dismiss().catch(() => {});
    });
    page.on('pageerror', (e) => seen.errors.push(e.message));
    page.on('console', (m) => {
        if (/Content Security Policy/i.test(m.text()))
            seen.csp.push(m.text());
    });
    page.on('request', (r) => {
        const u = r.url();
        if (!(u.startsWith(origin) || u.startsWith('data:')))
            seen.offsite.push(u);
        else if (u.startsWith('http'))
            seen.paths.push(new URL(u).pathname);
    });
    /* A flag any injected script would set; it must stay unset. */
    await page.addInitScript(() => { window.__pwned = undefined; });
    return {context, page, seen};
}

function clean(seen, what) {
    assert.deepStrictEqual(seen.dialogs, [], what + ': a dialog opened');
    assert.deepStrictEqual(seen.errors, [], what + ': page errors');
    assert.deepStrictEqual(seen.csp, [], what + ': CSP violations');
    assert.deepStrictEqual(seen.offsite, [], what + ': requests left the page\'s origin');
}

async function noInjection(page, what) {
    const r = await page.evaluate(() => ({
        pwned: window.__pwned,
        imgs: document.querySelectorAll('img').length,
        scripts: document.querySelectorAll('script:not([type="application/json"])').length,
        handlers: Array.from(document.querySelectorAll('*')).filter(
            (e) => Array.from(e.attributes).some((a) => /^on/i.test(a.name))).length,
        jsLinks: Array.from(document.querySelectorAll('a[href]')).filter(
            (a) => /^\s*javascript:/i.test(a.getAttribute('href'))).length
    }));
    assert.strictEqual(r.pwned, undefined, what + ': injected script ran (window.__pwned)');
    assert.strictEqual(r.imgs, 0, what + ': an <img> element was made from the text');
    assert.ok(r.scripts <= 1, what + ': ' + r.scripts + ' executable scripts');
    assert.strictEqual(r.handlers, 0, what + ': an element has an on* attribute');
    assert.strictEqual(r.jsLinks, 0, what + ': a javascript: link');
}

/* Clicks the first flagged claim in the answer that has evidence; checks the span is shown and
 * is the text at the report's offsets. Returns the claim. */
async function clickFlaggedClaim(page, report, sources) {
    const byte = (s, a, b) => Buffer.from(s, 'utf8').subarray(a, b).toString('utf8');
    const claims = report.claims;
    const i = claims.findIndex((c) => c.status !== 'supported' && c.evidence.length > 0);
    assert.ok(i >= 0, 'the run has no flagged claim with evidence');
    await page.click('#answer mark.claim[data-claim="' + i + '"]');
    await page.waitForSelector('#evidence mark.span', {state: 'visible', timeout: 5000});
    const shown = await page.evaluate(() => ({
        title: document.querySelector('#evidence h2').textContent,
        span: document.querySelector('#evidence mark.span').textContent,
        selected: document.querySelector('#answer mark.claim.sel').dataset.claim
    }));
    assert.strictEqual(shown.title, 'Claim ' + claims[i].claim_id);
    assert.strictEqual(shown.selected, String(i));
    const ev = claims[i].evidence[0];
    const src = sources.find((s) => s.source_id === ev.source_id);
    assert.ok(src, 'no source ' + ev.source_id);
    assert.strictEqual(shown.span, byte(src.text, ev.start, ev.end), 'evidence span text');
    assert.ok(shown.span.length > 0, 'empty evidence span');
    return claims[i];
}

async function workerPages(browser, o, out) {
    const job = path.join(out, 'example');
    fs.rmSync(job, {recursive: true, force: true});
    const p = run(o.worker, ['batch', '--job-spec-file',
                             path.join(o.root, 'data', 'examples', 'job-spec.json'),
                             '--out', job, '--quiet', '--layout', 'per-run']);
    assert.strictEqual(p.status, 0, 'kivo-worker batch: ' + p.stderr);
    const summary = JSON.parse(fs.readFileSync(path.join(job, 'summary.json'), 'utf8'));
    const flagged = summary.verdicts.needs_review + summary.verdicts.fail;

    const {context, page, seen} = await guardedPage(browser, 'file://');
    await page.goto(url.pathToFileURL(path.join(job, 'index.html')).href);
    await page.waitForSelector('#runs tbody tr');
    const rows = await page.$$eval('#runs tbody tr', (trs) => trs.length);
    assert.strictEqual(rows, Math.min(flagged, 50), 'index rows');
    const bars = await page.$$eval('#categories .bar', (b) => b.length);
    assert.strictEqual(bars, Object.keys(summary.failure_categories).length, 'category bars');
    await page.screenshot({path: path.join(out, 'worker-index.png'), fullPage: true});
    /* Search narrows the list. */
    const first = await page.$eval('#runs tbody tr a', (a) => a.textContent);
    await page.fill('#runs input[type=search]', first);
    assert.strictEqual(await page.$$eval('#runs tbody tr', (t) => t.length), 1, 'search');
    await page.fill('#runs input[type=search]', '');

    await Promise.all([page.waitForNavigation(), page.click('#runs tbody tr a')]);
    assert.ok(page.url().endsWith('/claim_report.html'), 'opened ' + page.url());
    await page.waitForSelector('#answer mark.claim');
    const dir = path.dirname(url.fileURLToPath(page.url()));
    const report = JSON.parse(fs.readFileSync(path.join(dir, 'claim_report.json'), 'utf8'));
    const data = await page.$eval('#kivo-data', (s) => JSON.parse(s.textContent));
    const claim = await clickFlaggedClaim(page, report, data.packet.sources);
    assert.ok(claim);
    await page.screenshot({path: path.join(out, 'worker-run.png'), fullPage: true});

    /* Keyboard: j and k walk the flagged claims. */
    const flaggedIdx = report.claims.map((c, i) => (c.status !== 'supported' ? i : -1))
        .filter((i) => i >= 0);
    await page.locator('body').focus();
    const sel = () => page.$eval('.claim.sel, tr.sel', (e) => e.dataset.claim);
    const start = Number(await sel());
    await page.keyboard.press('j');
    const next = Number(await sel());
    const k = flaggedIdx.indexOf(start);
    assert.strictEqual(next, flaggedIdx[(k + 1) % flaggedIdx.length], 'j: next flagged claim');
    await page.keyboard.press('k');
    assert.strictEqual(Number(await sel()), start, 'k: back');
    clean(seen, 'worker pages');
    await noInjection(page, 'worker run page');
    await context.close();
}

/* The report of a run, through `kivo-worker show` (either layout). */
function showReport(o, dir, id) {
    const p = run(o.worker, ['show', '--out', dir, id]);
    assert.strictEqual(p.status, 0, 'kivo-worker show ' + id + ': ' + p.stderr);
    return JSON.parse(p.stdout);
}

/* The run on screen of a page of the store v2: its id (the h1), the picker's choice, the URL's
 * fragment, and its data block. */
async function shownRun(page) {
    return page.evaluate(() => {
        const h1 = document.querySelector('#run h1');
        const id = h1 ? h1.firstChild.textContent.trim() : null;
        const blocks = Array.from(document.querySelectorAll('script.kivo-run'))
            .map((b) => JSON.parse(b.textContent));
        return {id, picked: Number(document.getElementById('run-picker').value),
                hash: location.hash, ids: blocks.map((d) => d.report.customer_run_id),
                data: blocks.find((d) => d.report.customer_run_id === id) || null};
    });
}

async function workerStorePages(browser, o, out) {
    const job = path.join(out, 'example-v2');
    fs.rmSync(job, {recursive: true, force: true});
    /* 4 runs a page, so that the example's flagged runs fill several pages. */
    const p = run(o.worker, ['batch', '--job-spec-file',
                             path.join(o.root, 'data', 'examples', 'job-spec.json'),
                             '--out', job, '--quiet'], undefined, {KIVO_WORKER_PAGE_RUNS: '4'});
    assert.strictEqual(p.status, 0, 'kivo-worker batch: ' + p.stderr);
    const summary = JSON.parse(fs.readFileSync(path.join(job, 'summary.json'), 'utf8'));
    const flagged = summary.verdicts.needs_review + summary.verdicts.fail;
    const pages = summary.report_store.pages;
    assert.ok(pages >= 3, pages + ' pages');

    const {context, page, seen} = await guardedPage(browser, 'file://');
    await page.goto(url.pathToFileURL(path.join(job, 'index.html')).href);
    await page.waitForSelector('#runs tbody tr');
    assert.strictEqual(await page.$$eval('#runs tbody tr', (t) => t.length),
                       Math.min(flagged, 50), 'index rows');
    const first = await page.$eval('#runs tbody tr a', (a) => a.textContent);
    await Promise.all([page.waitForNavigation(), page.click('#runs tbody tr a')]);
    const m = /\/pages\/(\d{4})\.html#run=(.*)$/.exec(page.url());
    assert.ok(m, 'opened ' + page.url());
    assert.strictEqual(decodeURIComponent(m[2]), first, 'the link names the run');
    await page.waitForSelector('#answer mark.claim');
    let on = await shownRun(page);
    assert.strictEqual(on.id, first, 'the linked run is on screen');
    assert.ok(on.ids.length <= 4 && on.ids.includes(first), 'the page holds ' + on.ids);
    const report = showReport(o, job, first);
    assert.deepStrictEqual(on.data.report, report, 'the page\'s report is the stored one');
    await clickFlaggedClaim(page, report, on.data.packet.sources);
    await page.screenshot({path: path.join(out, 'worker-v2-run.png'), fullPage: true});

    /* Keyboard: j and k walk the flagged claims; ] and [ the page's runs. */
    const flaggedIdx = report.claims.map((c, i) => (c.status !== 'supported' ? i : -1))
        .filter((i) => i >= 0);
    await page.locator('body').focus();
    const sel = () => page.$eval('.claim.sel, tr.sel', (e) => e.dataset.claim);
    const start = Number(await sel());
    await page.keyboard.press('j');
    const k = flaggedIdx.indexOf(start);
    assert.strictEqual(Number(await sel()), flaggedIdx[(k + 1) % flaggedIdx.length], 'j');
    await page.keyboard.press('k');
    assert.strictEqual(Number(await sel()), start, 'k: back');
    const at = on.ids.indexOf(first);
    if (at + 1 < on.ids.length) {
        await page.keyboard.press(']');
        on = await shownRun(page);
        assert.strictEqual(on.id, on.ids[at + 1], ']: the next run of the page');
        assert.strictEqual(on.hash, '#run=' + encodeURIComponent(on.ids[at + 1]), '] hash');
        assert.strictEqual(on.picked, at + 1, 'the picker follows');
        await page.keyboard.press('[');
        assert.strictEqual((await shownRun(page)).id, first, '[: back');
    }

    /* Page 0 from its first run to the next page and back; a deep link opened directly. */
    await page.goto(url.pathToFileURL(path.join(job, 'pages', '0000.html')).href);
    await page.waitForSelector('#run h1');
    on = await shownRun(page);
    assert.strictEqual(on.id, on.ids[0], 'no fragment: the first run');
    assert.strictEqual(await page.$('#prev-page'), null, 'page 0 has no previous page');
    await page.selectOption('#run-picker', String(on.ids.length - 1));
    on = await shownRun(page);
    assert.strictEqual(on.id, on.ids[on.ids.length - 1], 'the picker shows a run');
    assert.strictEqual(on.hash, '#run=' + encodeURIComponent(on.id), 'the picker sets the hash');
    await Promise.all([page.waitForNavigation(), page.click('#next-page')]);
    assert.ok(page.url().endsWith('/pages/0001.html'), 'next page: ' + page.url());
    await page.waitForSelector('#run h1');
    const second = await shownRun(page);
    assert.ok(second.ids.every((id) => !on.ids.includes(id)), 'page 1 holds other runs');
    await Promise.all([page.waitForNavigation(), page.click('#prev-page')]);
    assert.ok(page.url().endsWith('/pages/0000.html'), 'previous page: ' + page.url());
    const last = String(pages - 1).padStart(4, '0') + '.html';
    await page.goto(url.pathToFileURL(path.join(job, 'pages', last)).href);
    await page.waitForSelector('#run h1');
    assert.strictEqual(await page.$('#next-page'), null, 'the last page has no next page');
    const target = second.ids[second.ids.length - 1];
    await page.goto(url.pathToFileURL(path.join(job, 'pages', '0001.html')).href + '#run=' +
                    encodeURIComponent(target));
    await page.waitForSelector('#run h1');
    assert.strictEqual((await shownRun(page)).id, target, 'a deep link opened directly');
    await page.evaluate((id) => { location.hash = '#run=' + encodeURIComponent(id); },
                        second.ids[0]);
    await page.waitForFunction((id) => document.querySelector('#run h1').firstChild
        .textContent.trim() === id, second.ids[0]);
    clean(seen, 'worker v2 pages');
    await noInjection(page, 'worker v2 page');
    await context.close();
}

async function workerXss(browser, o, out) {
    for (const layout of ['v2', 'per-run'])
        await workerXssLayout(browser, o, out, layout);
}

async function workerXssLayout(browser, o, out, layout) {
    const job = path.join(out, 'xss-' + layout);
    fs.rmSync(job, {recursive: true, force: true});
    fs.mkdirSync(job, {recursive: true});
    const fixture = path.join(o.root, 'tests', 'web', 'xss.jsonl');
    const records = fs.readFileSync(fixture, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const spec = path.join(job, 'spec.json');
    fs.writeFileSync(spec, JSON.stringify({
        schema_version: 'kivo_worker_job_spec.v1', workflow_id: 'xss<wf>',
        intended_use: 'customer_facing', strictness: 'strict', worker_id: 'w1',
        inputs: [fixture],
        fields: {customer_run_id: '/customer_run_id', output: '/output', sources: '/sources',
                 source_id: '/id', source_title: '/title', source_text: '/text'},
        report_store: {path: './out', label: 'x'}
    }));
    const p = run(o.worker, ['batch', '--job-spec-file', spec, '--quiet', '--html', 'all',
                             '--layout', layout]);
    assert.strictEqual(p.status, 0, 'kivo-worker batch: ' + p.stderr);

    const {context, page, seen} = await guardedPage(browser, 'file://');
    await page.goto(url.pathToFileURL(path.join(job, 'out', 'index.html')).href);
    await page.waitForSelector('#runs tbody tr a');
    const ids = await page.$$eval('#runs tbody tr a', (as) => as.map((a) => a.textContent));
    assert.ok(ids.includes(records[0].customer_run_id), 'run id shown literally: ' + ids);
    await noInjection(page, 'xss index');
    const link = await page.$$('#runs tbody tr a');
    await Promise.all([page.waitForNavigation(),
                       link[ids.indexOf(records[0].customer_run_id)].click()]);
    await page.waitForSelector('#answer mark.claim');
    const answer = await page.$eval('#answer', (e) => e.textContent);
    assert.strictEqual(answer, records[0].output, 'the answer shows literally');
    const h1 = await page.$eval('main h1', (e) => e.firstChild.textContent.trim());
    assert.strictEqual(h1, records[0].customer_run_id, 'the run id shows literally');
    assert.ok(layout === 'v2' ? /\/pages\/0000\.html#run=/.test(page.url())
                              : page.url().endsWith('/claim_report.html'), 'opened ' + page.url());
    const report = showReport(o, path.join(job, 'out'), records[0].customer_run_id);
    const sources = records[0].sources.map((s) => ({source_id: s.id, text: s.text}));
    await clickFlaggedClaim(page, report, sources);
    const box = await page.$eval('#evidence .source-text', (e) => e.textContent);
    assert.strictEqual(box, records[0].sources[0].text, 'the source shows literally');
    const title = await page.$eval('#evidence h3 q', (e) => e.textContent);
    assert.strictEqual(title, records[0].sources[0].title, 'the source title shows literally');
    await page.keyboard.press('j');
    await page.screenshot({path: path.join(out, 'worker-xss-run-' + layout + '.png'),
                           fullPage: true});
    await noInjection(page, 'xss run page');
    clean(seen, 'xss pages');
    await context.close();
}

/* Two batches of the example corpus (labels and a split in each record; the candidate with some
 * answers made wrong), compared. */
async function experiments(browser, o, out) {
    const job = path.join(out, 'experiments');
    fs.rmSync(job, {recursive: true, force: true});
    fs.mkdirSync(job, {recursive: true});
    const traces = fs.readdirSync(path.join(o.root, 'data', 'examples', 'traces')).sort();
    const recs = [];
    for (const t of traces)
        for (const line of fs.readFileSync(path.join(o.root, 'data', 'examples', 'traces', t),
                                           'utf8').trim().split('\n'))
            recs.push(JSON.parse(line));
    const hostile = '<img src=x onerror="window.__pwned=1">';
    const sides = {base: recs.map((r, i) => Object.assign({}, r, {
        gold: i % 3 === 0, split: i % 2 ? 'dev' : 'test'}))};
    sides.cand = sides.base.map((r, i) => Object.assign({}, r, i % 4 === 0 && r.sources ? {
        output: 'Every order ships free overnight to any country, and refunds take 90 days.'
    } : {}));
    sides.base[1].customer_run_id = sides.cand[1].customer_run_id = hostile;
    sides.cand[1].output = sides.cand[0].output;
    for (const side of ['base', 'cand']) {
        fs.writeFileSync(path.join(job, side + '.jsonl'),
                         sides[side].map((r) => JSON.stringify(r)).join('\n') + '\n');
        fs.writeFileSync(path.join(job, side + '.json'), JSON.stringify({
            schema_version: 'kivo_worker_job_spec.v1', workflow_id: 'wf', inputs: [side + '.jsonl'],
            fields: {label: '/gold', metadata: {split: '/split'}}
        }));
        const p = run(o.worker, ['batch', '--job-spec-file', path.join(job, side + '.json'),
                                 '--out', path.join(job, side), '--quiet', '--group-by', 'split',
                                 '--layout', 'per-run']);
        assert.strictEqual(p.status, 0, 'kivo-worker batch: ' + p.stderr);
    }
    const summary = JSON.parse(fs.readFileSync(path.join(job, 'base', 'summary.json'), 'utf8'));
    const {context, page, seen} = await guardedPage(browser, 'file://');
    await page.goto(url.pathToFileURL(path.join(job, 'base', 'index.html')).href);
    await page.waitForSelector('#confusion td');
    const cells = await page.$$eval('#confusion td', (tds) => tds.map((t) => t.textContent));
    const c = summary.evaluation.confusion;
    assert.deepStrictEqual(cells, [c.true_positive, c.false_positive, c.false_negative,
                                   c.true_negative].map(String), 'confusion table');
    const dis = await page.$$eval('#disagreements tbody tr', (t) => t.length);
    const want = c.false_positive + c.false_negative;
    assert.strictEqual(dis, Math.min(want, 50), 'disagreement rows');
    const groups = await page.$$eval('table.groups tbody tr td:first-child',
                                     (t) => t.map((x) => x.textContent));
    assert.deepStrictEqual(groups, ['dev', 'test'], 'group rows');
    await page.screenshot({path: path.join(out, 'worker-labeled-index.png'), fullPage: true});

    const html = path.join(job, 'report', 'compare.html');
    const p = run(o.worker, ['compare', path.join(job, 'base'), path.join(job, 'cand'),
                             '--group-by', 'split', '--html', html, '--json']);
    assert.strictEqual(p.status, 0, 'kivo-worker compare: ' + p.stderr);
    const result = JSON.parse(p.stdout);
    await page.goto(url.pathToFileURL(html).href);
    await page.waitForSelector('#transitions td');
    const t = await page.$$eval('#transitions td', (tds) => tds.map((x) => x.textContent));
    const names = ['pass', 'needs_review', 'fail'];
    const wantT = [];
    for (const b of names)
        for (const v of names)
            wantT.push(String(result.overall.transitions[b][v]));
    assert.deepStrictEqual(t, wantT, 'transition table');
    const regressed = result.regressed_runs.runs;
    assert.ok(regressed.length > 0, 'nothing regressed');
    const rows = await page.$$eval('#regressed tbody tr td:nth-child(3)',
                                   (t) => t.map((x) => x.textContent));
    assert.deepStrictEqual(rows, regressed.slice(0, 50).map((r) => r.customer_run_id),
                           'regressed rows');
    assert.ok(rows.includes(hostile), 'the hostile id is listed literally');
    await noInjection(page, 'compare page');
    await page.screenshot({path: path.join(out, 'worker-compare.png'), fullPage: true});
    const first = regressed[0];
    await Promise.all([page.waitForNavigation(),
                       page.click('#regressed tbody tr:first-child a:text("candidate")')]);
    const opened = url.fileURLToPath(page.url());
    assert.strictEqual(opened, path.join(job, 'cand', first.candidate_link),
                       'candidate link opened ' + opened);
    await page.waitForSelector('h1');
    const h1 = await page.$eval('h1', (e) => e.firstChild.textContent.trim());
    assert.strictEqual(h1, first.customer_run_id, 'the candidate page of the regressed run');
    clean(seen, 'experiment pages');
    await context.close();
}

async function hosted(browser, o, out) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kivo-web-e2e-'));
    const db = path.join(tmp, 'kivo.db');
    let server = null;
    try {
        const k = run(o.api, ['keys', 'create', '--create', '--db', db, '--project', 'acme', '--scopes',
                              'review_runs:write,review_runs:read']);
        assert.strictEqual(k.status, 0, 'keys create: ' + k.stderr);
        const key = k.stdout.split('\n')[0].trim();
        assert.ok(key.startsWith('kivo_sk_'), 'keys create printed no key');
        /* The paging check below posts 17 hosted runs at once: room for them in the queue. */
        const api = await startApi(o, db, ['--hosted-queue', '32'],
                                   path.join(out, 'kivo-api.log'));
        server = api.server;
        const base = api.base;

        const records = fs.readFileSync(path.join(o.root, 'tests', 'web', 'xss.jsonl'), 'utf8')
            .trim().split('\n').map((l) => JSON.parse(l));
        const post = async (rec, workflow) => {
            const body = {
                schema_version: 'kivo_review_run_create.v1',
                customer_run_id: rec.customer_run_id, workflow_id: workflow,
                title: '<img src=x onerror="window.__pwned=20"> javascript:alert(21)',
                strictness: 'strict', output: rec.output,
                sources: rec.sources.map((s) => ({source_id: s.id, title: s.title, text: s.text}))
            };
            const r = await fetch(base + '/v1/review-runs', {
                method: 'POST', body: JSON.stringify(body),
                headers: {Authorization: 'Bearer ' + key, 'Content-Type': 'application/json'}
            });
            const j = await r.json();
            assert.strictEqual(r.status, 201, 'create: ' + JSON.stringify(j));
            return j;
        };
        const run0 = await post(records[0], 'xss"><script>window.__pwned=22</script>');
        const run2 = await post(records[2], 'other');
        assert.notStrictEqual(run0.gate_verdict, 'pass', 'the hostile run should be flagged');
        assert.notStrictEqual(run2.gate_verdict, run0.gate_verdict, 'two verdicts to filter by');

        const app = await fetch(base + '/app/');
        const csp = app.headers.get('content-security-policy') || '';
        assert.ok(/default-src 'none'/.test(csp) && /script-src 'self'/.test(csp) &&
                  !/unsafe/.test(csp), 'CSP header: ' + csp);

        const {context, page, seen} = await guardedPage(browser, base + '/');
        await page.goto(base + '/app/');
        await page.fill('#api-key', key);
        await page.click('#key-form button[type=submit]');
        await page.waitForSelector('#runs tr[data-run]');
        assert.strictEqual(await page.$$eval('#runs tr[data-run]', (t) => t.length), 2, 'listed');
        const storage = await page.evaluate(() => ({
            session: sessionStorage.getItem('kivo_api_key'), local: localStorage.length,
            cookie: document.cookie, field: document.querySelector('#api-key').value
        }));
        assert.strictEqual(storage.session, key, 'key in sessionStorage');
        assert.strictEqual(storage.local, 0, 'nothing in localStorage');
        assert.strictEqual(storage.cookie, '', 'no cookie');
        assert.strictEqual(storage.field, '', 'the key is not left in the field');
        await page.screenshot({path: path.join(out, 'app-list.png'), fullPage: true});

        /* Filters: by verdict, then by workflow. */
        await page.selectOption('#verdict', run2.gate_verdict);
        await page.click('#filters button[type=submit]');
        /* The list is replaced when the answer comes: wait for exactly the run of that verdict. */
        await page.waitForFunction((id) => {
            const r = document.querySelectorAll('#runs tr[data-run]');
            return r.length === 1 && r[0].dataset.run === id;
        }, run2.review_run_id, {timeout: 5000});
        await page.selectOption('#verdict', '');
        await page.fill('#workflow', run0.workflow_id);
        await page.click('#filters button[type=submit]');
        await page.waitForFunction((id) => {
            const r = document.querySelectorAll('#runs tr[data-run]');
            return r.length === 1 && r[0].dataset.run === id;
        }, run0.review_run_id, {timeout: 5000});
        await noInjection(page, 'app list');

        await page.click('#runs tr[data-run]');
        await page.waitForSelector('#answer mark.claim');
        const answer = await page.$eval('#answer', (e) => e.textContent);
        assert.strictEqual(answer, records[0].output, 'hosted answer shows literally');
        const report = await (await fetch(
            base + '/v1/review-runs/' + run0.review_run_id + '/report',
            {headers: {Authorization: 'Bearer ' + key}})).json();
        const sources = records[0].sources.map((s) => ({source_id: s.id, text: s.text}));
        await clickFlaggedClaim(page, report, sources);
        const box = await page.$eval('#evidence .source-text', (e) => e.textContent);
        assert.strictEqual(box, records[0].sources[0].text, 'hosted source shows literally');
        await page.screenshot({path: path.join(out, 'app-run.png'), fullPage: true});
        /* The run's id is in the fragment; a reload of the tab shows the same run. */
        assert.ok(page.url().endsWith('#' + run0.review_run_id), 'fragment: ' + page.url());
        await page.reload();
        await page.waitForSelector('#answer mark.claim');
        assert.strictEqual(await page.$eval('#answer', (e) => e.textContent), records[0].output,
                           'the reload shows the run');
        await noInjection(page, 'app run');
        /* A fragment that is not valid percent-encoding shows the list, not "URI malformed". */
        await page.goto(base + '/app/#%E0%A4%A');
        await page.reload();
        await page.waitForSelector('#runs tr[data-run]');
        const shown = await page.$eval('#kivo', (e) => e.textContent);
        assert.ok(!/could not be shown|malformed/i.test(shown), 'malformed fragment: ' + shown);
        await page.click('#runs tr[data-run]');
        await page.waitForSelector('#answer mark.claim');
        clean(seen, 'app');
        /* The page itself, its two assets, and the JSON API: nothing else. */
        const other = seen.paths.filter((p) => !/^\/app\/(review\.(js|css))?$/.test(p) &&
                                               !/^\/v1\/review-runs(\/|$)/.test(p) &&
                                               p !== '/v1/private-worker/batches');
        assert.deepStrictEqual(other, [], 'the page asked for other paths');
        assert.ok(seen.paths.some((p) => p.endsWith('/packet')) &&
                  seen.paths.some((p) => p.endsWith('/report')), 'paths ' + seen.paths);

        /* Back to the list; 51 more runs page as 50, then "More" brings the last one. */
        await page.click('text=Back to runs');
        await page.waitForSelector('#runs tr[data-run]');
        for (let i = 0; i < 51; i += 17) {
            const batch = [];
            for (let k = i; k < Math.min(i + 17, 51); k++)
                batch.push(post(Object.assign({}, records[2], {customer_run_id: 'bulk-' + k}),
                                'bulk'));
            await Promise.all(batch);
        }
        await page.fill('#workflow', 'bulk');
        await page.click('#filters button[type=submit]');
        const rowsAre = (n) => document.querySelectorAll('#runs tr[data-run]').length === n;
        await page.waitForFunction(rowsAre, 50);
        assert.ok(!(await page.$eval('#more', (b) => b.hidden)), 'no "More" after 50 of 51');
        await page.click('#more');
        await page.waitForFunction(rowsAre, 51);
        assert.ok(await page.$eval('#more', (b) => b.hidden),
                  '"More" stays after the last page');
        const ids = await page.$$eval('#runs tr[data-run]', (t) => t.map((r) => r.dataset.run));
        assert.strictEqual(new Set(ids).size, 51, 'paging repeats a run');
        await page.click('text=Forget key');
        assert.strictEqual(await page.evaluate(() => sessionStorage.getItem('kivo_api_key')), null);
        await context.close();
    } finally {
        if (server) {
            server.kill('SIGTERM');
            await new Promise((r) => server.once('exit', r));
        }
        fs.rmSync(tmp, {recursive: true, force: true});
    }
}

/* kivo-api's /app/ for private-worker runs (issue 15): batches grouped by workflow with their
 * verdict counts, two batches side by side, a batch's runs with their metadata only. Ids, titles
 * and the storage label are hostile: they must show as text. */
async function workerBatches(browser, o, out) {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'kivo-e2e-pw-'));
    const db = path.join(tmp, 'kivo.db');
    let server = null;
    try {
        const k = run(o.api, ['keys', 'create', '--create', '--db', db, '--project', 'acme',
                              '--scopes', 'private_worker:write,private_worker:read']);
        assert.strictEqual(k.status, 0, 'keys create: ' + k.stderr);
        const key = k.stdout.split('\n')[0].trim();
        const api = await startApi(o, db, ['--rate-limit', '0'], path.join(out, 'kivo-api-pw.log'));
        server = api.server;
        const base = api.base;
        const hostile = '<img src=x onerror="window.__pwned=30">';
        const workflow = 'wf ' + hostile;
        const call = async (p, body, token) => {
            const r = await fetch(base + p, {
                method: 'POST', body: JSON.stringify(body),
                headers: {Authorization: 'Bearer ' + token, 'Content-Type': 'application/json'}
            });
            const j = await r.json();
            assert.ok(r.status === 201 || r.status === 202, p + ': ' + JSON.stringify(j));
            return j;
        };
        const h = (s) => 'sha256:' + crypto.createHash('sha256').update(s).digest('hex');
        /* nov: 2 pass, 1 fail; dec: 1 pass, 2 fail, 1 still running. */
        const plan = {nov: ['pass', 'pass', 'fail'], dec: ['pass', 'fail', 'fail', null]};
        for (const batch of ['nov', 'dec']) {
            for (let i = 0; i < plan[batch].length; i++) {
                const cid = 'case-' + i + ' ' + hostile;
                const create = {
                    schema_version: 'kivo_private_worker_review_run_create.v1',
                    customer_run_id: cid, batch_id: batch, workflow_id: workflow,
                    worker_id: 'w1', worker_version: 'v1', source_count: 1,
                    source_hashes: [h('s' + i)], output_hash: h('o' + i),
                    customer_storage_pointer: {type: 'customer_owned', label: 'S3 ' + hostile,
                                               opaque_id: 'reports/' + batch + '/' + i}
                };
                const a = await call('/v1/private-worker/review-runs', create, key);
                const v = plan[batch][i];
                if (!v)
                    continue;
                await call('/v1/private-worker/review-runs/' + a.review_run_id + '/events', {
                    schema_version: 'kivo_private_worker_review_run_event.v1',
                    event_id: 'e-' + batch + '-' + i, event_type: 'completed',
                    review_run_id: a.review_run_id, customer_run_id: cid, batch_id: batch,
                    worker_id: 'w1', worker_version: 'v1', sequence: 1, status: 'completed',
                    gate_verdict: v, safe_use_status: v, claim_count: 4,
                    unsupported_claim_count: v === 'pass' ? 0 : 2, source_count: 1,
                    source_hashes: [h('s' + i)], output_hash: h('o' + i),
                    redacted_failure_categories: v === 'pass' ? [] : ['unsupported_policy_claim'],
                    artifact_summaries: [{artifact_name: 'claim_report',
                                          artifact_type: 'claim_report', format: 'json',
                                          sha256: h('r' + i), file_count: 1,
                                          storage_label: 'S3'}]
                }, a.worker_credential);
            }
        }

        const {context, page, seen} = await guardedPage(browser, base + '/');
        await page.goto(base + '/app/');
        await page.fill('#api-key', key);
        await page.click('#key-form button[type=submit]');
        await page.waitForSelector('#batches tr[data-batch]');
        const heads = await page.$$eval('#batches h3', (e) => e.map((x) => x.textContent));
        assert.deepStrictEqual(heads, ['Workflow ' + workflow], 'one workflow group: ' + heads);
        const rows = await page.$$eval('#batches tr[data-batch]', (t) => t.map(
            (r) => Array.from(r.cells).slice(1, 6).map((c) => c.textContent)));
        assert.deepStrictEqual(rows, [['dec', '4', '1', '0', '2'], ['nov', '3', '2', '0', '1']],
                               'batches newest first with their verdict counts');
        await page.screenshot({path: path.join(out, 'app-batches.png'), fullPage: true});

        /* Two batches side by side. */
        await page.check('#batches input[data-pick="0"]');
        await page.check('#batches input[data-pick="1"]');
        await page.click('#pw-compare-btn');
        await page.waitForSelector('#pw-compare tr[data-metric]');
        const cmp = await page.$$eval('#pw-compare tr[data-metric]', (t) => t.map(
            (r) => Array.from(r.cells).map((c) => c.textContent)));
        assert.deepStrictEqual(cmp, [['runs', '4', '3', '-1'], ['pass', '1', '2', '+1'],
                                     ['needs_review', '0', '0', '0'], ['fail', '2', '1', '-1'],
                                     ['fail rate', '50%', '33.3%', '']],
                               'side by side: ' + JSON.stringify(cmp));
        await page.screenshot({path: path.join(out, 'app-batches-compare.png'), fullPage: true});

        /* One batch's runs: metadata only, hostile ids and labels as text. */
        await page.click('#batches tr[data-batch="1"] td:nth-child(2)');
        await page.waitForSelector('#pw-runs tr[data-pw-run]');
        const runs = await page.$$eval('#pw-runs tr[data-pw-run]', (t) => t.map((r) => ({
            verdict: r.cells[1].textContent, cid: r.cells[2].textContent,
            cats: r.cells[5].textContent, store: r.cells[6].textContent,
            batch: r.cells[7].textContent})));
        assert.strictEqual(runs.length, 3, 'nov has 3 runs');
        assert.ok(runs.every((r) => r.batch === 'nov' && r.cid.endsWith(hostile) &&
                             r.store.startsWith('S3 ' + hostile + 'reports/nov/')),
                  'runs: ' + JSON.stringify(runs));
        assert.deepStrictEqual(runs.map((r) => r.verdict).sort(), ['fail', 'pass', 'pass']);
        assert.ok(runs.some((r) => r.cats === 'unsupported_policy_claim'), 'categories shown');
        await page.screenshot({path: path.join(out, 'app-batch-runs.png'), fullPage: true});

        /* Paging: another workflow with 52 batches (a "big" one of 51 runs, 51 of one run each)
         * lists 50, "More batches" brings the other 2 and keeps a tick; the big batch shows 50
         * runs, "More runs" the 51st. */
        const many = 'wf-many';
        const createIn = (batch, i) => call('/v1/private-worker/review-runs', {
            schema_version: 'kivo_private_worker_review_run_create.v1',
            customer_run_id: batch + '-' + i, batch_id: batch, workflow_id: many,
            worker_id: 'w1', worker_version: 'v1', source_count: 1, source_hashes: [h('s' + i)],
            output_hash: h('o' + i),
            customer_storage_pointer: {type: 'customer_owned', label: 'S3', opaque_id: 'r/' + i}
        }, key);
        for (let i = 0; i < 51; i++)
            await createIn('big', i);
        for (let i = 0; i < 51; i++)
            await createIn('b' + String(i).padStart(2, '0'), 0);
        await page.fill('#pw-workflow', many);
        await page.click('#pw-filters button[type=submit]');
        await page.waitForFunction(() => document.querySelectorAll('#batches tr[data-batch]')
                                             .length === 50);
        assert.ok(!(await page.$eval('#pw-more', (b) => b.hidden)), 'no "More batches" after 50');
        await page.check('#batches input[data-pick="3"]');
        await page.click('#pw-more');
        await page.waitForFunction(() => document.querySelectorAll('#batches tr[data-batch]')
                                             .length === 52);
        assert.ok(await page.$eval('#pw-more', (b) => b.hidden), '"More batches" after the last');
        assert.ok(await page.$eval('#batches input[data-pick="3"]', (x) => x.checked),
                  'a tick survives "More batches"');
        const names = await page.$$eval('#batches tr[data-batch]',
                                        (t) => t.map((r) => r.cells[1].textContent));
        assert.strictEqual(new Set(names).size, 52, 'each batch once: ' + names);
        const bigRow = names.indexOf('big');
        assert.ok(bigRow >= 0, 'the big batch is listed');
        await page.click('#batches tr[data-batch="' + bigRow + '"] td:nth-child(2)');
        await page.waitForFunction(() => document.querySelectorAll('#pw-runs tr[data-pw-run]')
                                             .length === 50);
        assert.ok(!(await page.$eval('#pw-runs-more', (b) => b.hidden)), 'no "More runs" after 50');
        await page.click('#pw-runs-more');
        await page.waitForFunction(() => document.querySelectorAll('#pw-runs tr[data-pw-run]')
                                             .length === 51);
        assert.ok(await page.$eval('#pw-runs-more', (b) => b.hidden), '"More runs" after the last');
        const cids = await page.$$eval('#pw-runs tr[data-pw-run]',
                                       (t) => t.map((r) => r.cells[2].textContent));
        assert.strictEqual(new Set(cids).size, 51, 'each run of the big batch once');
        await noInjection(page, 'app batches');
        clean(seen, 'app batches');
        const other = seen.paths.filter((p) => !/^\/app\/(review\.(js|css))?$/.test(p) &&
                                               !/^\/v1\/review-runs(\/|$)/.test(p) &&
                                               !/^\/v1\/private-worker\/(batches|review-runs)$/
                                                   .test(p));
        assert.deepStrictEqual(other, [], 'the page asked for other paths');
        await context.close();
    } finally {
        if (server) {
            server.kill('SIGTERM');
            await new Promise((r) => server.once('exit', r));
        }
        fs.rmSync(tmp, {recursive: true, force: true});
    }
}

async function main() {
    const o = opts();
    fs.mkdirSync(o.out, {recursive: true});
    if (!fs.existsSync(CHROMIUM))
        throw new Error(CHROMIUM + ' is missing: run scripts/install-browser.sh');
    const {chromium} = loadPlaywright();
    const browser = await chromium.launch({executablePath: CHROMIUM, headless: true, args: ARGS});
    try {
        await step('worker index and run pages from file:// (per-run layout)',
                   () => workerPages(browser, o, o.out));
        await step('worker index and pages of the report store v2 from file://',
                   () => workerStorePages(browser, o, o.out));
        await step('worker pages show hostile text literally', () => workerXss(browser, o, o.out));
        await step('labeled index and compare pages from file://',
                   () => experiments(browser, o, o.out));
        await step('kivo-api /app/ lists, filters and opens a hosted run',
                   () => hosted(browser, o, o.out));
        await step('kivo-api /app/ lists private-worker batches side by side',
                   () => workerBatches(browser, o, o.out));
    } finally {
        await browser.close();
    }
    console.log('screenshots in ' + o.out);
    console.log(passed + ' passed, ' + failures.length + ' failed');
    process.exitCode = failures.length ? 1 : 0;
}

main().catch((e) => {
    console.log('FAIL: ' + (e.stack || e));
    console.log('0 passed, 1 failed');
    process.exitCode = 1;
});
