/*
 * optenv.c - options from the environment, fed to getopt_long as if they were on the command
 * line (see optenv.h), so each option is parsed and checked by one piece of code whatever its
 * source. The command line is scanned once first, quietly, to learn which options it names.
 */
#include <stdlib.h>
#include <string.h>

#include "optenv.h"
#include "suggest.h"

static int is_scoped(const wk_optenv_cmd *cmd, const char *name)
{
    if (!cmd->scope || !cmd->scoped)
        return 0;
    for (const char *const *s = cmd->scoped; *s; s++)
        if (!strcmp(*s, name))
            return 1;
    return 0;
}

int wk_optenv_name(const wk_optenv_cmd *cmd, const struct option *o, char *out)
{
    const char *n = o->name;
    size_t k = 0;
    if (o->has_arg != required_argument || !strcmp(n, "worker-credential"))
        return -1;
    if (!strncmp(n, "kivo-", 5))
        n += 5;
    int w = is_scoped(cmd, o->name) ? snprintf(out, WK_OPTENV_NAME_MAX, "KIVO_%s_", cmd->scope)
                                    : snprintf(out, WK_OPTENV_NAME_MAX, "KIVO_");
    if (w < 0 || (size_t)w + strlen(n) >= WK_OPTENV_NAME_MAX)
        return -1;
    k = (size_t)w;
    for (; *n; n++)
        out[k++] = *n == '-' ? '_' : (*n >= 'a' && *n <= 'z') ? (char)(*n - 'a' + 'A') : *n;
    out[k] = '\0';
    return 0;
}

/* The table entry getopt_long's answer c stands for (long options whose val is a short letter
 * come back as that letter). */
static const struct option *find(const struct option *opts, int c, int longindex)
{
    if (longindex >= 0)
        return &opts[longindex];
    for (const struct option *o = opts; o->name; o++)
        if (!o->flag && o->val == c)
            return o;
    return NULL;
}

int wk_optenv_init(wk_optenv *oe, const wk_optenv_cmd *cmd, int argc, char **argv)
{
    size_t n_opts = 0;
    memset(oe, 0, sizeof *oe);
    oe->cmd = cmd;
    snprintf(oe->prog, sizeof oe->prog, "kivo-worker %s", cmd->name);
    for (const struct option *o = cmd->opts; o->name; o++)
        n_opts++;
    unsigned char *given = calloc(n_opts + 1, 1);
    oe->argv = calloc((size_t)argc + n_opts + 1, sizeof *oe->argv);
    if (!given || !oe->argv) {
        free(given);
        free(oe->argv);
        oe->argv = NULL;
        return -1;
    }

    /* Which options the command line names: getopt_long over a copy (it permutes), silently;
     * the real pass reports what is wrong. */
    memcpy(oe->argv, argv, (size_t)argc * sizeof *argv);
    int c, li;
    opterr = 0;
    optind = 0; /* glibc: start afresh */
    while (li = -1, (c = getopt_long(argc, oe->argv, cmd->shortopts, cmd->opts, &li)) != -1) {
        const struct option *o = c == '?' || c == ':' ? NULL : find(cmd->opts, c, li);
        if (o)
            given[o - cmd->opts] = 1;
    }

    oe->argv[0] = oe->prog;
    int k = 1;
    for (size_t i = 0; i < n_opts; i++) {
        const struct option *o = &cmd->opts[i];
        char name[WK_OPTENV_NAME_MAX];
        const char *v;
        if (given[i] || wk_optenv_name(cmd, o, name) != 0 || !(v = getenv(name)))
            continue;
        size_t len = strlen(o->name) + strlen(v) + 4;
        char *arg = malloc(len);
        if (!arg) {
            oe->n_env = k - 1;
            free(given);
            wk_optenv_free(oe);
            return -1;
        }
        snprintf(arg, len, "--%s=%s", o->name, v);
        oe->argv[k++] = arg;
    }
    oe->n_env = k - 1;
    for (int i = 1; i < argc; i++)
        oe->argv[k++] = argv[i];
    oe->argv[k] = NULL;
    oe->argc = k;
    free(given);
    optind = 1;
    return 0;
}

void wk_optenv_free(wk_optenv *oe)
{
    if (!oe->argv)
        return;
    for (int i = 1; i <= oe->n_env; i++)
        free(oe->argv[i]);
    free(oe->argv);
    oe->argv = NULL;
}

const char *wk_optenv_origin(const wk_optenv *oe, const char *arg)
{
    static char buf[WK_OPTENV_NAME_MAX + 16];
    for (int i = 1; arg && i <= oe->n_env; i++) {
        const char *e = oe->argv[i];
        if (arg >= e && arg <= e + strlen(e)) {
            const char *eq = strchr(e, '=');
            size_t nl = eq ? (size_t)(eq - e - 2) : 0;
            for (const struct option *o = oe->cmd->opts; o->name; o++) {
                char name[WK_OPTENV_NAME_MAX];
                if (strlen(o->name) == nl && !strncmp(o->name, e + 2, nl) &&
                    wk_optenv_name(oe->cmd, o, name) == 0) {
                    snprintf(buf, sizeof buf, " (from %s)", name);
                    return buf;
                }
            }
        }
    }
    return "";
}

void wk_optenv_help(FILE *f, const wk_optenv_cmd *cmd)
{
    int any = 0;
    for (const struct option *o = cmd->opts; o->name; o++) {
        char name[WK_OPTENV_NAME_MAX];
        if (wk_optenv_name(cmd, o, name) != 0)
            continue;
        if (!any)
            fputs("\nEnvironment (each sets the option beside it; the command line wins):\n", f);
        any = 1;
        fprintf(f, "  %-30s --%s\n", name, o->name);
    }
}

void wk_optenv_unknown(const wk_optenv *oe, int c)
{
    const char *names[128];
    size_t n = 0;
    const char *arg = optind > 0 && optind <= oe->argc ? oe->argv[optind - 1] : "";
    const struct option *o;
    char what[160];

    for (o = oe->cmd->opts; o->name && n < 128; o++)
        names[n++] = o->name;
    if (!strncmp(arg, "--", 2) && arg[2]) {
        const char *word = arg + 2, *hint;
        size_t len = strcspn(word, "="), prefixed = 0;
        const struct option *exact = NULL;
        for (o = oe->cmd->opts; o->name; o++) {
            if (strlen(o->name) == len && !strncmp(o->name, word, len))
                exact = o;
            else if (!strncmp(o->name, word, len))
                prefixed++;
        }
        if (c == ':' || (exact && exact->has_arg == required_argument && !word[len]))
            snprintf(what, sizeof what, "option '--%.*s' needs a value", (int)(len < 64 ? len : 64),
                     word);
        else if (exact || prefixed == 1)
            snprintf(what, sizeof what, "option '--%.*s' takes no value",
                     (int)(len < 64 ? len : 64), word);
        else if (prefixed > 1) {
            int w = snprintf(what, sizeof what,
                             "option '--%.*s' is ambiguous:", (int)(len < 64 ? len : 64), word);
            for (o = oe->cmd->opts; o->name && w > 0 && (size_t)w < sizeof what; o++)
                if (!strncmp(o->name, word, len))
                    w += snprintf(what + w, sizeof what - (size_t)w, " --%s", o->name);
        } else if ((hint = wk_suggest(word, len, names, n)))
            snprintf(what, sizeof what, "unknown option '--%.*s'; did you mean '--%s'?",
                     (int)(len < 64 ? len : 64), word, hint);
        else
            snprintf(what, sizeof what, "unknown option '--%.*s'", (int)(len < 64 ? len : 64),
                     word);
    } else if (c == ':') {
        snprintf(what, sizeof what, "option '-%c' needs a value", optopt);
    } else if (optopt > 32 && optopt < 127) {
        snprintf(what, sizeof what, "unknown option '-%c'", optopt);
    } else {
        snprintf(what, sizeof what, "unknown option");
    }
    fprintf(stderr, "%s: %s (see '%s --help')\n", oe->prog, what, oe->prog);
}
