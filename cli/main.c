/* gradus: the command line. `gradus COMMAND [FLAGS]`; `gradus COMMAND --help`. */
#include "cli.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} command;

static const command commands[] = {
    {"train", cmd_train, "train a network and save it with its metrics"},
    {"eval", cmd_eval, "accuracy, per-class accuracy and confusion matrix of a saved model"},
    {"predict", cmd_predict, "classify inputs with a saved model, as CSV"},
    {"check", cmd_check, "sanity checks of a model and its data before training"},
    {"search", cmd_search, "hyperparameter search: many trials, ranked, resumable"},
    {"report", cmd_report, "an HTML page of a run's curves, monitor, confusion matrix, checks"},
    {"lab", cmd_lab, "the lecture's claims measured here, each with a verdict"},
    {"summary", cmd_summary, "a model's layers, output shapes, parameters and memory"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: gradus COMMAND [FLAGS]   (gradus COMMAND --help for its flags)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-9s %s\n", commands[i].name, commands[i].summary);
    print_common_help(out);
    fprintf(out, "\nexit codes:\n"
                 "  0    success\n"
                 "  1    a file or folder could not be read or written (missing, no\n"
                 "       permission, disk full), a run folder another process is writing, or\n"
                 "       another run failure\n"
                 "  2    usage: an unknown flag, a bad value, a spec error, a model that does\n"
                 "       not fit the data, a folder that is not what the command takes\n"
                 "  3    an input file that is there but malformed (wrong magic, truncated,\n"
                 "       ragged CSV) or beyond --memory-limit\n"
                 "  4    training diverged (NaN or infinite loss; the last checkpoint stays)\n"
                 "  5    a check failed (gradus check)\n"
                 "  130  interrupted (Ctrl-C): train keeps what gradus train --resume needs\n");
}

/* libgomp's idle threads spin for a while after each parallel region (and OpenBLAS's
 * OpenMP build adds a region per matrix product). On a 2-core machine with anything else
 * running, a spinning thread holds a core that the next region needs: a step measured 4x
 * slower on 2 threads than with a short spin. libgomp reads GOMP_SPINCOUNT only when it
 * loads, so the command sets it and restarts itself, unless the user chose a policy. */
static void limit_spinning(char **argv)
{
    if (getenv("OMP_WAIT_POLICY") || getenv("GOMP_SPINCOUNT"))
        return;
    setenv("GOMP_SPINCOUNT", "10000", 1);
    execv("/proc/self/exe", argv); /* returns only on failure: then run as we are */
}

int main(int argc, char **argv)
{
    limit_spinning(argv);
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return EXIT_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("gradus %s\n", gd_version());
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        if (strcmp(argv[1], commands[i].name) != 0)
            continue;
        int n = argc - 1;
        int rc = take_common_flags(commands[i].name, &n, argv + 1);
        return rc == EXIT_OK ? commands[i].run(n, argv + 1) : rc;
    }
    fprintf(stderr, "gradus: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return EXIT_USAGE;
}
