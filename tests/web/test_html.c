/*
 * test_html.c - the worker's HTML pages (src/worker/html.c) and the embedded assets (src/web/):
 * JSON embedded in <script type="application/json"> can never close the element and still means
 * the same text; --html modes; the CSP hash sources match the inlined bytes; hostile answers and
 * sources appear only inside the data block; the index keeps the most severe runs, in order.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "html.h"
#include "kivo/hash.h"
#include "kivo/report.h"
#include "web.h"

static void embed(const char *in, size_t len, const char *want)
{
    kivo_buf b;
    kivo_buf_init(&b, 0);
    assert_int_equal(wk_html_json_embed(in, len, &b), KIVO_OK);
    if (b.len != strlen(want) || memcmp(b.data ? b.data : "", want, b.len) != 0)
        fail_msg("embed(\"%.*s\") = \"%.*s\", want \"%s\"", (int)len, in, (int)b.len,
                 b.data ? b.data : "", want);
    kivo_buf_free(&b);
}

static void test_embed_known(void **state)
{
    (void)state;
    embed("", 0, "");
    embed("{}", 2, "{}");
    embed("<", 1, "\\u003c");
    embed("\"</script><!--&-->\"", 19, "\"\\u003c/script\\u003e\\u003c!--\\u0026--\\u003e\"");
    embed("\"a\xe2\x80\xa8"
          "b\xe2\x80\xa9\"",
          10, "\"a\\u2028b\\u2029\"");
    /* Other three-byte characters and a cut sequence at the end stay as they are. */
    embed("\"\xe2\x80\xa7\"", 5, "\"\xe2\x80\xa7\"");
    embed("\xe2\x80", 2, "\xe2\x80");
    embed("\"\xc3\xa9<\"", 5, "\"\xc3\xa9\\u003c\"");
}

/* Whatever the text, the embedded JSON has no '<', '>' or '&' and parses back to the same value. */
static void test_embed_roundtrip(void **state)
{
    static const char *const texts[] = {"</script><script>alert(1)</script>",
                                        "\"><img src=x onerror=alert(1)>",
                                        "javascript:alert(1)",
                                        "<!-- <script> -->",
                                        "a\xe2\x80\xa8z\xe2\x80\xa9",
                                        "&amp;&lt;",
                                        "",
                                        "</SCRIPT>",
                                        "\\u003c already escaped"};
    (void)state;
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        json_t *o = json_pack("{s:s}", "t", texts[i]);
        char *js = json_dumps(o, JSON_COMPACT);
        kivo_buf b;
        kivo_buf_init(&b, 0);
        assert_int_equal(wk_html_json_embed(js, strlen(js), &b), KIVO_OK);
        for (size_t k = 0; k < b.len; k++)
            if (b.data[k] == '<' || b.data[k] == '>' || b.data[k] == '&')
                fail_msg("'%c' left in %s", b.data[k], b.data);
        json_t *back = json_loadb(b.data, b.len, 0, NULL);
        assert_non_null(back);
        assert_string_equal(json_string_value(json_object_get(back, "t")), texts[i]);
        json_decref(back);
        kivo_buf_free(&b);
        free(js);
        json_decref(o);
    }
}

static void test_modes(void **state)
{
    wk_html_mode m = WK_HTML_NONE;
    (void)state;
    assert_int_equal(wk_html_mode_parse("all", &m), KIVO_OK);
    assert_int_equal(m, WK_HTML_ALL);
    assert_int_equal(wk_html_mode_parse("none", &m), KIVO_OK);
    assert_int_equal(m, WK_HTML_NONE);
    assert_int_equal(wk_html_mode_parse("flagged", &m), KIVO_OK);
    assert_int_equal(m, WK_HTML_FLAGGED);
    assert_int_equal(wk_html_mode_parse("All", &m), KIVO_EINVAL);
    assert_int_equal(wk_html_mode_parse("", &m), KIVO_EINVAL);
    /* The zero value is the default. */
    assert_int_equal(WK_HTML_FLAGGED, 0);

    assert_int_equal(wk_html_wanted(WK_HTML_FLAGGED, KIVO_VERDICT_PASS), 0);
    assert_int_equal(wk_html_wanted(WK_HTML_FLAGGED, KIVO_VERDICT_NEEDS_REVIEW), 1);
    assert_int_equal(wk_html_wanted(WK_HTML_FLAGGED, KIVO_VERDICT_FAIL), 1);
    assert_int_equal(wk_html_wanted(WK_HTML_ALL, KIVO_VERDICT_PASS), 1);
    assert_int_equal(wk_html_wanted(WK_HTML_ALL, KIVO_VERDICT_FAIL), 1);
    assert_int_equal(wk_html_wanted(WK_HTML_NONE, KIVO_VERDICT_FAIL), 0);
    assert_int_equal(wk_html_wanted(WK_HTML_NONE, KIVO_VERDICT_PASS), 0);
}

/* The build-time digests are those of the embedded bytes; the CSP names them in base64. */
static void test_assets(void **state)
{
    const web_asset *all[] = {&web_review_js, &web_review_css, &web_app_html};
    kivo_hasher *h;
    char text[KIVO_HASH_TEXT_SIZE], csp[WK_HTML_CSP_MAX], src[WEB_CSP_HASH_MAX];
    (void)state;
    assert_int_equal(kivo_hasher_create(&h), KIVO_OK);
    for (size_t i = 0; i < 3; i++) {
        assert_true(all[i]->len > 100);
        assert_int_equal(all[i]->data[all[i]->len], 0);
        assert_int_equal(kivo_hasher_sha256_text(h, all[i]->data, all[i]->len, text), KIVO_OK);
        assert_string_equal(text + 7, all[i]->sha256_hex);
        assert_ptr_equal(web_asset_find(all[i]->name), all[i]);
    }
    assert_null(web_asset_find("../review.js"));
    kivo_hasher_free(h);

    /* SHA-256("abc") = ba7816bf...15ad: base64 "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=". */
    web_asset abc = {"abc", "text/plain", (const unsigned char *)"abc", 3,
                     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"};
    web_csp_hash(&abc, src);
    assert_string_equal(src, "'sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0='");

    wk_html_csp(csp);
    assert_non_null(strstr(csp, "default-src 'none'"));
    web_csp_hash(&web_review_js, src);
    assert_non_null(strstr(csp, src));
    web_csp_hash(&web_review_css, src);
    assert_non_null(strstr(csp, src));
    assert_null(strstr(csp, "unsafe"));

    /* The inlined files cannot end their own element, and ask for nothing from the network. */
    assert_null(strcasestr((const char *)web_review_js.data, "</script"));
    assert_null(strcasestr((const char *)web_review_css.data, "</style"));
    for (size_t i = 0; i < 3; i++) {
        assert_null(strstr((const char *)all[i]->data, "http://"));
        assert_null(strstr((const char *)all[i]->data, "https://"));
        assert_null(strstr((const char *)all[i]->data, "innerHTML"));
        assert_null(strstr((const char *)all[i]->data, "@import"));
    }
}

static size_t count(const char *hay, size_t len, const char *needle)
{
    size_t n = 0, k = strlen(needle);
    for (size_t i = 0; i + k <= len; i++)
        n += strncasecmp(hay + i, needle, k) == 0;
    return n;
}

/* A page of a hostile packet: its text is only in the data block, and reads back exactly. */
static void test_run_page(void **state)
{
    static const char out_text[] = "Refunds take 5 days. </script><script>alert(1)</script> "
                                   "\"><img src=x onerror=alert(2)> javascript:alert(3)";
    static const char src_text[] = "Refunds take 5 days.</script><img src=x onerror=alert(4)>";
    kivo_source src = {"kb-<b>1</b>", 11, "<title>T</title>", 16, src_text, sizeof src_text - 1};
    kivo_packet pk = {out_text, sizeof out_text - 1, &src,
                      1,        KIVO_STRICT,         KIVO_USE_CUSTOMER_FACING};
    kivo_run_meta meta = {NULL,        "run-<script>",           "wf\"><x>", "w", "v", NULL, NULL,
                          KIVO_STRICT, KIVO_USE_CUSTOMER_FACING, NULL};
    kivo_engine *e;
    const kivo_review *rv;
    kivo_buf rep, page, again;
    (void)state;

    kivo_buf_init(&rep, 0);
    kivo_buf_init(&page, 0);
    kivo_buf_init(&again, 0);
    assert_int_equal(kivo_engine_create(&e), KIVO_OK);
    assert_int_equal(kivo_engine_review(e, &pk, &rv), KIVO_OK);
    assert_int_equal(kivo_report_render(&pk, rv, &meta, &rep), KIVO_OK);
    assert_int_equal(wk_html_render_run(&pk, rep.data, rep.len, &page), KIVO_OK);
    assert_int_equal(wk_html_render_run(&pk, rep.data, rep.len, &again), KIVO_OK);
    assert_int_equal(page.len, again.len);
    assert_memory_equal(page.data, again.data, page.len); /* deterministic */
    assert_int_equal(wk_html_render_run(&pk, "", 0, &again), KIVO_EINVAL);

    /* What the batch does (data kept, page written around it) gives the same bytes. */
    {
        char dir[] = "/tmp/kivo-test-page.XXXXXX", path[128];
        kivo_buf data;
        static char back[1 << 18]; /* a page inlines review.js and its style: ~70 KB */
        kivo_buf_init(&data, 0);
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof path, "%s/claim_report.html", dir);
        assert_int_equal(wk_html_run_data(&pk, rep.data, rep.len, &data), KIVO_OK);
        assert_true(data.len < page.len / 2); /* the assets are not in it */
        int dfd = open(dir, O_RDONLY | O_DIRECTORY);
        assert_true(dfd >= 0);
        assert_int_equal(wk_html_write_at(dfd, "claim_report.html", "run", data.data, data.len, 0),
                         KIVO_OK);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        size_t n = fread(back, 1, sizeof back, f);
        fclose(f);
        assert_int_equal(n, page.len);
        assert_memory_equal(back, page.data, n);
        assert_int_equal(wk_html_write_at(dfd, "no/such/dir/x.html", "run", data.data, data.len, 0),
                         KIVO_EIO);
        close(dfd);
        snprintf(path, sizeof path, "%s/claim_report.html", dir);
        unlink(path);
        rmdir(dir);
        kivo_buf_free(&data);
    }

    /* Exactly our two script elements, no image, the CSP meta before any style or script. */
    assert_int_equal(count(page.data, page.len, "<script"), 2);
    assert_int_equal(count(page.data, page.len, "</script"), 2);
    assert_int_equal(count(page.data, page.len, "<img"), 0);
    assert_int_equal(count(page.data, page.len, "<title>T"), 0);
    assert_int_equal(count(page.data, page.len, "<b>"), 0);
    const char *meta_csp = strstr(page.data, "http-equiv=\"Content-Security-Policy\"");
    assert_non_null(meta_csp);
    assert_true(meta_csp < strstr(page.data, "<style>"));
    assert_non_null(strstr(page.data, "<body data-kivo=\"run\">"));

    /* The data block parses back to the packet's exact text and the report's claims. */
    const char *open = strstr(page.data, "id=\"kivo-data\">");
    assert_non_null(open);
    open += strlen("id=\"kivo-data\">");
    const char *close = strstr(open, "</script>");
    assert_non_null(close);
    json_t *d = json_loadb(open, (size_t)(close - open), 0, NULL);
    assert_non_null(d);
    json_t *packet = json_object_get(d, "packet");
    assert_string_equal(json_string_value(json_object_get(packet, "output")), out_text);
    json_t *s0 = json_array_get(json_object_get(packet, "sources"), 0);
    assert_string_equal(json_string_value(json_object_get(s0, "text")), src_text);
    assert_string_equal(json_string_value(json_object_get(s0, "title")), "<title>T</title>");
    json_t *r = json_object_get(d, "report");
    assert_string_equal(json_string_value(json_object_get(r, "customer_run_id")), "run-<script>");
    assert_int_equal(json_array_size(json_object_get(r, "claims")), rv->n_claims);
    json_decref(d);

    kivo_engine_free(e);
    kivo_buf_free(&rep);
    kivo_buf_free(&page);
    kivo_buf_free(&again);
}

/* The index keeps the max_runs most severe flagged runs (fail, then unsupported claims, then
 * input order), counts all of them, and lists no passing run. */
/* A run's block escapes every byte a JSON string or a data block cannot hold as it is (control
 * characters, NUL included, '"', '\\', '<', '>', '&', U+2028, U+2029; a 0xE2 that starts another
 * character stays) and reads back to the exact bytes. */
static void test_runs_item_escapes(void **state)
{
    static const char out_text[] = "a\0b\x01\x1f\"q\\ \n\r\t\b\f <x>&y \xE2\x80\xA8\xE2\x80\xA9 "
                                   "\xE2\x82\xAC \xE2\x80\x94";
    static const char id[] = "kb-1</script>", text[] = "\xE2\x80\xA8";
    kivo_source src = {id, sizeof id - 1, NULL, 0, text, sizeof text - 1};
    kivo_packet pk = {out_text, sizeof out_text - 1, &src,
                      1,        KIVO_STRICT,         KIVO_USE_CUSTOMER_FACING};
    kivo_buf b;
    json_error_t je;
    (void)state;

    kivo_buf_init(&b, 0);
    assert_int_equal(kivo_buf_append_str(&b, "x"), KIVO_OK);
    assert_int_equal(wk_html_runs_item(&pk, "nope", 4, &b), KIVO_EINVAL);
    assert_int_equal(b.len, 1); /* nothing appended on failure */
    kivo_buf_reset(&b);
    static const char report[] = "{\"r\":\"<\u2028>\"}\n";
    assert_int_equal(wk_html_runs_item(&pk, report, sizeof report - 1, &b), KIVO_OK);
    for (size_t i = 0; i < b.len; i++) {
        unsigned char c = (unsigned char)b.data[i];
        assert_true(c >= 0x20 && c != '<' && c != '>' && c != '&');
        assert_false(c == 0xE2 && i + 2 < b.len && (unsigned char)b.data[i + 1] == 0x80 &&
                     ((unsigned char)b.data[i + 2] & 0xFE) == 0xA8);
    }
    json_t *d = json_loadb(b.data, b.len, JSON_ALLOW_NUL, &je);
    assert_non_null(d);
    json_t *o = json_object_get(json_object_get(d, "packet"), "output");
    assert_int_equal(json_string_length(o), sizeof out_text - 1);
    assert_memory_equal(json_string_value(o), out_text, sizeof out_text - 1);
    json_t *s0 = json_array_get(json_object_get(json_object_get(d, "packet"), "sources"), 0);
    assert_string_equal(json_string_value(json_object_get(s0, "source_id")), id);
    assert_true(json_is_null(json_object_get(s0, "title")));
    assert_string_equal(json_string_value(json_object_get(s0, "text")), text);
    assert_string_equal(json_string_value(json_object_get(json_object_get(d, "report"), "r")),
                        "<\xE2\x80\xA8>");
    assert_null(json_object_get(d, "kind")); /* v2 blocks name no index */
    json_decref(d);
    kivo_buf_free(&b);
}

/* A page of the store v2 in its pieces: the head names the page, the index and the previous
 * page (none for page 0), the tail the next page (none for the last), and head + blocks + tail
 * is one page with one executable script. */
static void test_runs_page(void **state)
{
    (void)state;
    kivo_buf b;
    char name[WK_HTML_PAGE_NAME_MAX];

    wk_html_page_name(0, name);
    assert_string_equal(name, "0000.html");
    wk_html_page_name(12345, name);
    assert_string_equal(name, "12345.html");

    kivo_buf_init(&b, 0);
    assert_int_equal(wk_html_runs_head(0, &b), KIVO_OK);
    assert_non_null(strstr(b.data, "<body data-kivo=\"runs\">"));
    assert_non_null(strstr(b.data, "id=\"kivo-data\">{\"kind\":\"runs\",\"index\":"
                                   "\"../index.html\",\"page\":0}</script>\n"));
    assert_null(strstr(b.data, "prev"));
    assert_null(strstr(b.data, "<script>")); /* the script comes with the tail */
    kivo_buf_reset(&b);
    assert_int_equal(wk_html_runs_head(3, &b), KIVO_OK);
    assert_non_null(strstr(b.data, "{\"kind\":\"runs\",\"index\":\"../index.html\",\"page\":3,"
                                   "\"prev\":\"0002.html\"}</script>\n"));
    assert_int_equal(kivo_buf_append_str(&b, WK_HTML_RUN_OPEN "{}" WK_HTML_RUN_CLOSE), KIVO_OK);
    assert_int_equal(wk_html_runs_tail(4, &b), KIVO_OK);
    assert_non_null(strstr(b.data, "id=\"kivo-tail\">{\"next\":\"0004.html\"}</script>\n<script>"));
    const char *end = "</script>\n</body>\n</html>\n";
    assert_true(b.len > strlen(end) && !strcmp(b.data + b.len - strlen(end), end));
    int scripts = 0;
    for (const char *p = b.data; (p = strstr(p, "<script>")) != NULL; p++)
        scripts++;
    assert_int_equal(scripts, 1);
    kivo_buf_reset(&b);
    assert_int_equal(wk_html_runs_tail(-1, &b), KIVO_OK);
    assert_non_null(strstr(b.data, "id=\"kivo-tail\">{}</script>"));
    kivo_buf_free(&b);
}

static void test_index(void **state)
{
    char dir[] = "/tmp/kivo-test-html.XXXXXX", path[256], id[32];
    wk_html_index *x;
    (void)state;
    assert_non_null(mkdtemp(dir));
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    assert_true(dfd >= 0);
    assert_int_equal(wk_html_index_open(dfd, "wf/1", 4, &x), KIVO_OK);
    for (unsigned i = 0; i < 40; i++) {
        /* every 3rd run passes; runs 7 and 31 fail; unsupported grows with i % 5 */
        kivo_verdict v = i % 3 == 0            ? KIVO_VERDICT_PASS
                         : (i == 7 || i == 31) ? KIVO_VERDICT_FAIL
                                               : KIVO_VERDICT_NEEDS_REVIEW;
        snprintf(id, sizeof id, "r%u<x>", i);
        /* Links: the per-run layout's page, except r31 (a v2 page number) and r4 (v2, none). */
        int64_t page = i == 31 ? 3 : i == 4 ? WK_PAGE_NONE : WK_PAGE_RUN_HTML;
        assert_int_equal(wk_html_index_add(x, id, v, 5, i % 5, 1u << 2, page), KIVO_OK);
    }
    assert_int_equal(wk_html_index_write(x, "{\"workflow_id\":\"wf/1\",\"records_reviewed\":40}"),
                     KIVO_OK);
    wk_html_index_free(x);
    wk_html_index_free(NULL);
    close(dfd);

    snprintf(path, sizeof path, "%s/index.html", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    static char buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    assert_int_equal(count(buf, n, "<x>"), 0);
    assert_non_null(strstr(buf, "<body data-kivo=\"index\">"));
    const char *open = strstr(buf, "id=\"kivo-data\">") + strlen("id=\"kivo-data\">");
    json_t *d = json_loadb(open, (size_t)(strstr(open, "</script>") - open), 0, NULL);
    assert_non_null(d);
    /* 40 runs, 14 pass (0, 3, ..., 39): 26 flagged. Kept: fail 7 (u 2), fail 31 (u 1), then the
     * needs_review runs with 4 unsupported claims in input order: 4, 14. */
    assert_int_equal(json_integer_value(json_object_get(d, "flagged_total")), 26);
    json_t *runs = json_object_get(d, "runs");
    static const char *const want[] = {"r7<x>", "r31<x>", "r4<x>", "r14<x>"};
    assert_int_equal(json_array_size(runs), 4);
    for (size_t i = 0; i < 4; i++) {
        json_t *r = json_array_get(runs, i);
        assert_string_equal(json_string_value(json_object_get(r, "id")), want[i]);
    }
    json_t *r0 = json_array_get(runs, 0);
    assert_string_equal(json_string_value(json_object_get(r0, "dir")), "reports/wf%2F1/r7%3Cx%3E");
    assert_true(json_is_true(json_object_get(r0, "page")));
    json_t *r1 = json_array_get(runs, 1), *r2 = json_array_get(runs, 2);
    assert_string_equal(json_string_value(json_object_get(r1, "page_file")), "pages/0003.html");
    assert_null(json_object_get(r1, "dir"));
    assert_null(json_object_get(r2, "dir"));
    assert_null(json_object_get(r2, "page_file"));
    assert_string_equal(json_string_value(json_object_get(r0, "verdict")), "fail");
    assert_string_equal(json_string_value(json_array_get(json_object_get(r0, "categories"), 0)),
                        "unsupported_policy_claim");
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(d, "summary"), "records_reviewed")), 40);
    json_decref(d);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_embed_known), cmocka_unit_test(test_embed_roundtrip),
        cmocka_unit_test(test_modes),       cmocka_unit_test(test_assets),
        cmocka_unit_test(test_run_page),    cmocka_unit_test(test_index),
        cmocka_unit_test(test_runs_page),   cmocka_unit_test(test_runs_item_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
