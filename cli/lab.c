/* gradus lab: the lecture's claims measured (the library's gd_lab_run). `lab list`
 * names the experiments; `lab NAME` runs one, prints its figures' numbers as a table and
 * each claim's verdict with its evidence, and writes every measured number as JSON
 * (docs/lab.md) into --out. */
#include "lab.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CMD "lab"
#define WIDTH 80

static const char *const HELP =
    "usage: gradus lab list\n"
    "       gradus lab NAME|all [--quick] [--seeds N] [--seed N] [--threads N]\n"
    "                           [--out DIR] [--lang en|ko]\n"
    "\n"
    "Measures a claim of the lecture \"Training Neural Networks\" and says whether it\n"
    "held here, with the numbers: each claim is a metric measured once per seed, its\n"
    "95% interval against the claim's threshold (held, did not hold, inconclusive).\n"
    "Writes every measured number to DIR/NAME.json (docs/lab.md) and draws them in\n"
    "DIR/NAME.html, a self-contained page. `gradus lab all` runs every experiment\n"
    "and writes the lecture notebook, DIR/notebook.html: each claim, its figures,\n"
    "numbers, verdict and the command that measures it again.\n"
    "\n"
    "  --quick              a reduced size that keeps the claim measurable\n"
    "  --seeds N            repetitions with other seeds          [the experiment's]\n"
    "  --seed N             the first seed                                       [1]\n"
    "  --threads N          threads (0: all cores)                               [0]\n"
    "  --out DIR            where the JSON files and the pages go              [lab]\n"
    "  --lang en|ko         the pages' words in English or Korean               [en]\n"
    "  -h, --help           this text\n"
    "\n"
    "Exit codes: 0 measured (whatever the verdicts), 1 a file that cannot be\n"
    "written, 2 usage (an unknown experiment or flag).\n";

typedef struct lab_args {
    gd_lab_options opt;
    const char *name, *out, *lang;
} lab_args;

static int parse_args(lab_args *a, int argc, char **argv)
{
    static const struct option options[] = {
        {"quick", no_argument, 0, 'q'},       {"seeds", required_argument, 0, 'n'},
        {"seed", required_argument, 0, 's'},  {"threads", required_argument, 0, 't'},
        {"out", required_argument, 0, 'o'},   {"help", no_argument, 0, 'h'},
        {"lang", required_argument, 0, 'l'},
        {0, 0, 0, 0}};
    int opt;
    int64_t v;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
        switch (opt) {
        case 'h': fputs(HELP, stdout); print_common_help(stdout); return -1;
        case 'q': a->opt.quick = true; break;
        case 'o': a->out = optarg; break;
        case 'l':
            if (strcmp(optarg, "en") != 0 && strcmp(optarg, "ko") != 0)
                return fail(EXIT_USAGE, CMD, "--lang %s: expected en or ko", optarg);
            a->lang = optarg;
            break;
        case 'n':
        case 't':
            if (!parse_int64(optarg, &v) || v < (opt == 'n' ? 1 : 0) || v > (opt == 'n' ? 100 : 4096))
                return fail(EXIT_USAGE, CMD, "--%s %s: expected an integer in [%d, %d]",
                            opt == 'n' ? "seeds" : "threads", optarg, opt == 'n' ? 1 : 0,
                            opt == 'n' ? 100 : 4096);
            *(opt == 'n' ? &a->opt.seeds : &a->opt.threads) = (int)v;
            break;
        case 's':
            if (!parse_int64(optarg, &v) || v < 0)
                return fail(EXIT_USAGE, CMD, "--seed %s: expected an unsigned integer", optarg);
            a->opt.seed = (uint64_t)v;
            break;
        default:
            return fail(EXIT_USAGE, CMD, "unknown or incomplete flag '%s' (gradus lab --help "
                        "lists them)", argv[optind - 1]);
        }
    }
    if (optind != argc - 1)
        return fail(EXIT_USAGE, CMD, "give one experiment (gradus lab list names them)");
    a->name = argv[optind];
    return EXIT_OK;
}

static void list(void)
{
    for (size_t i = 0; i < gd_lab_count(); i++) {
        const gd_lab_info *e = gd_lab_at(i);
        printf("%s\n", e->name);
        print_wrapped(stdout, 2, "", e->claim, WIDTH);
    }
}

/* ------------------------------------------------------------ printing */

static double item_number(const cJSON *v) { return cJSON_IsNumber(v) ? v->valuedouble : NAN; }

static void print_value(double v)
{
    if (isnan(v))
        printf(" %9s", "-");
    else if (v != 0 && (fabs(v) < 1e-3 || fabs(v) >= 1e5))
        printf(" %9.2e", v);
    else
        printf(" %9.4f", v);
}

/* A "lines" figure as a table: x down, one column per series (named in a key below). */
static void print_lines(const cJSON *fig)
{
    const cJSON *series = cJSON_GetObjectItemCaseSensitive(fig, "series");
    int n = cJSON_GetArraySize(series);
    const cJSON *xs = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(series, 0), "x");
    if (n == 0 || n > 6 || cJSON_GetArraySize(xs) > 30)
        return; /* the JSON and the page hold it; a terminal table would not fit */
    printf("\n");
    print_wrapped(stdout, 0, "", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(fig, "title")),
                  WIDTH);
    printf("%-7.7s", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(fig, "x_label")));
    for (int k = 0; k < n; k++) {
        char key[8];
        snprintf(key, sizeof key, "[%d]", k + 1);
        printf(" %9s", key);
    }
    printf("\n");
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(series, 0), "x");
    for (int i = 0; i < cJSON_GetArraySize(x); i++) {
        printf("%-7g", item_number(cJSON_GetArrayItem(x, i)));
        for (int k = 0; k < n; k++) {
            const cJSON *y = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(series, k), "y");
            print_value(item_number(cJSON_GetArrayItem(y, i)));
        }
        printf("\n");
    }
    for (int k = 0; k < n; k++)
        printf("  [%d] %s\n", k + 1,
               cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(series, k), "name")));
}

/* A short table (a row per seed) as one wrapped line per row: "label: column value, ...". */
static void print_table(const cJSON *t)
{
    const cJSON *cols = cJSON_GetObjectItemCaseSensitive(t, "columns");
    const cJSON *rows = cJSON_GetObjectItemCaseSensitive(t, "rows"), *r;
    if (cJSON_GetArraySize(rows) > 6)
        return; /* per layer or longer: the page and the JSON hold it */
    printf("\n");
    print_wrapped(stdout, 0, "", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "title")), WIDTH);
    cJSON_ArrayForEach(r, rows) {
        char line[2048];
        size_t n = 0;
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, "values");
        for (int k = 1; k < cJSON_GetArraySize(v) && n < sizeof line; k++) { /* 0: the label's */
            double x = item_number(cJSON_GetArrayItem(v, k));
            char num[32] = "-"; /* null: not measured, or not finite (a diverged run) */
            if (!isnan(x))
                snprintf(num, sizeof num, "%.4g", x);
            n += (size_t)snprintf(line + n, sizeof line - n, "%s%s %s", k > 1 ? ", " : "",
                                  cJSON_GetStringValue(cJSON_GetArrayItem(cols, k)), num);
        }
        char lead[64];
        snprintf(lead, sizeof lead, "  %s %.20s: ", cJSON_GetStringValue(cJSON_GetArrayItem(cols, 0)),
                 cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r, "label")));
        print_wrapped(stdout, 0, lead, line, WIDTH);
    }
}

static void print_verdicts(const cJSON *doc)
{
    const cJSON *claims = cJSON_GetObjectItemCaseSensitive(doc, "claims"), *c;
    printf("\nverdicts (%g seeds):\n",
           item_number(cJSON_GetObjectItemCaseSensitive(doc, "seeds")));
    cJSON_ArrayForEach(c, claims) {
        const char *verdict = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "verdict"));
        char lead[16];
        snprintf(lead, sizeof lead, "%-13.13s ", verdict ? verdict : "?");
        print_wrapped(stdout, 0, lead, cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "claim")),
                      WIDTH);
        print_wrapped(stdout, 14, "", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "evidence")),
                      WIDTH);
    }
}

static void print_doc(const cJSON *doc)
{
    printf("%s: %.1f s\n", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "experiment")),
           item_number(cJSON_GetObjectItemCaseSensitive(doc, "seconds")));
    print_wrapped(stdout, 2, "", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(doc, "claim")),
                  WIDTH);
    const cJSON *figs = cJSON_GetObjectItemCaseSensitive(doc, "figures"), *f;
    cJSON_ArrayForEach(f, figs) {
        const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(f, "kind"));
        if (kind && strcmp(kind, "lines") == 0)
            print_lines(f);
    }
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(doc, "tables")) print_table(f);
    print_verdicts(doc);
}

/* ------------------------------------------------------------ the command */

/* DIR/NAME.json and DIR/NAME.html. */
static int save(const char *dir, const char *name, const char *json, const cJSON *doc,
                const char *lang)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.json", dir, name);
    gd_error err;
    gd_status st = gd_write_file_atomic(path, json, strlen(json), &err);
    if (st != GD_OK)
        return fail_status(CMD, st, err.message);
    printf("\nnumbers: %s\n", path);
    snprintf(path, sizeof path, "%s/%s.html", dir, name);
    int rc = lab_page(doc, path, lang);
    if (rc == EXIT_OK)
        printf("page:    %s\n", path);
    return rc;
}

/* On a terminal, a line that says which repetition runs (cleared before the results);
 * elsewhere nothing, so that logs hold the results alone. */
static void show_progress(void *ctx, const char *experiment, int done, int total)
{
    (void)ctx;
    fprintf(stderr, "\r\033[K%s: repetition %d of %d ...", experiment, done + 1, total);
    fflush(stderr);
}

static void clear_progress(void)
{
    if (isatty(STDERR_FILENO))
        fputs("\r\033[K", stderr);
}

/* One experiment run, printed and saved; its document into *out (the caller's to free). */
static int run_one(const lab_args *a, const char *name, bool brief, cJSON **out)
{
    char *json = NULL;
    gd_error err;
    *out = NULL;
    gd_lab_options opt = a->opt;
    if (isatty(STDERR_FILENO))
        opt.progress = show_progress;
    gd_status st = gd_lab_run(name, &opt, &json, &err);
    clear_progress();
    if (st != GD_OK)
        return fail_status(CMD, st, err.message);
    cJSON *doc = cJSON_Parse(json);
    int rc = EXIT_OK;
    if (doc && brief) {
        printf("\n%s: %.1f s\n", name, item_number(cJSON_GetObjectItemCaseSensitive(doc, "seconds")));
        print_verdicts(doc);
    } else if (doc) {
        print_doc(doc);
    }
    rc = doc ? save(a->out, name, json, doc, a->lang) : fail(EXIT_FAILURE_RUN, CMD, "out of memory");
    free(json);
    if (rc == EXIT_OK)
        *out = doc;
    else
        cJSON_Delete(doc);
    return rc;
}

static int run_all(const lab_args *a)
{
    size_t n = gd_lab_count();
    cJSON **docs = calloc(n, sizeof *docs);
    if (!docs)
        return fail(EXIT_FAILURE_RUN, CMD, "out of memory");
    int rc = EXIT_OK;
    for (size_t i = 0; rc == EXIT_OK && i < n; i++)
        rc = run_one(a, gd_lab_at(i)->name, true, &docs[i]);
    char path[4096];
    snprintf(path, sizeof path, "%s/notebook.html", a->out);
    if (rc == EXIT_OK && (rc = lab_notebook(docs, (int)n, path, a->lang)) == EXIT_OK)
        printf("\nnotebook: %s\n", path);
    for (size_t i = 0; i < n; i++)
        cJSON_Delete(docs[i]);
    free(docs);
    return rc;
}

int cmd_lab(int argc, char **argv)
{
    lab_args a = {.out = "lab", .lang = "en"};
    gd_lab_defaults(&a.opt);
    if (argc == 2 && strcmp(argv[1], "list") == 0) {
        list();
        return EXIT_OK;
    }
    int rc = parse_args(&a, argc, argv);
    if (rc != EXIT_OK)
        return rc < 0 ? EXIT_OK : rc;
    if (strcmp(a.name, "list") == 0)
        return list(), EXIT_OK;
    if (strcmp(a.name, "all") != 0 && !gd_lab_find(a.name))
        return fail(EXIT_USAGE, CMD, "no experiment is named \"%s\" (gradus lab list names "
                    "them)", a.name);
    if (mkdir(a.out, 0755) != 0 && errno != EEXIST)
        return fail(EXIT_FAILURE_RUN, CMD, "%s: %s", a.out, strerror(errno));
    a.opt.dir = a.out; /* search's studies go there too */
    if (strcmp(a.name, "all") == 0)
        return run_all(&a);
    cJSON *doc = NULL;
    rc = run_one(&a, a.name, false, &doc);
    cJSON_Delete(doc);
    return rc;
}
