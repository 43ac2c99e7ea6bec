# Builds the fuzz targets into build/fuzz (fuzz/run.sh calls this; so can you:
# make -f fuzz/build.mk -j2). The library is rebuilt here with clang's coverage
# instrumentation and sanitizers, apart from the Makefile's builds.
#
# OpenMP: clang's own runtime (libomp) and the libgomp that Debian's OpenMP OpenBLAS links
# would be two runtimes in one process, so the library is built with -fopenmp=libgomp:
# clang then ignores the parallel pragmas (loops run serially, which is what a fuzzer
# wants) and links libgomp for the omp_* calls, the runtime OpenBLAS already uses.
CC := clang-14
OUT := build/fuzz
OPENBLAS_DIR := /usr/lib/x86_64-linux-gnu/openblas-openmp
SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined
CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -g -O1 -fno-omit-frame-pointer $(SAN) \
          -fopenmp=libgomp -Wno-unknown-pragmas -Iinclude \
          -I/usr/include/x86_64-linux-gnu/openblas-pthread $(shell pkg-config --cflags lapacke)
LDLIBS := -L$(OPENBLAS_DIR) -Wl,--push-state,--no-as-needed -l:libopenblas.so.0 \
          -l:liblapack.so.3 -l:libblas.so.3 -Wl,--pop-state -Wl,-rpath,$(OPENBLAS_DIR) \
          $(shell pkg-config --libs lapacke) -lcjson -lpng -lz -lm

TARGETS := idx idx_gz csv cifar10 model checkpoint spec config report shape space journal
LIB_SRC := $(sort $(wildcard src/*/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(OUT)/obj/%.o)
CLI_READER := cli/train_config.c cli/common.c cli/progress.c cli/settings_flags.c
LIB := $(OUT)/libgradus-fuzz.a
# The library's warnings are the Makefile's (gcc's) business: here, with the pragmas
# ignored, the variables only their clauses use would read as unused.
WARN := -Wall -Wextra -Wshadow
LIB_HEADERS := $(wildcard include/*.h src/*/*.h)
HEADERS := $(LIB_HEADERS) $(wildcard cli/*.h fuzz/*.h)

.PHONY: all
all: $(TARGETS:%=$(OUT)/bin/fuzz_%) $(OUT)/bin/make_corpus

$(OUT)/obj/src/%.o: src/%.c $(LIB_HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -fsanitize=fuzzer-no-link -fvisibility=hidden -DGD_BUILDING_LIBRARY -c $< -o $@

$(LIB): $(LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

$(OUT)/bin/fuzz_config: fuzz/fuzz_config.c $(CLI_READER) $(LIB) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -fsanitize=fuzzer -o $@ fuzz/fuzz_config.c $(CLI_READER) $(LIB) -fopenmp=libgomp $(LDLIBS)

# The report target builds in the whole command line but its main.
CLI_ALL := $(filter-out cli/main.c,$(sort $(wildcard cli/*.c)))
$(OUT)/bin/fuzz_report: fuzz/fuzz_report.c $(CLI_ALL) $(LIB) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -fsanitize=fuzzer -o $@ fuzz/fuzz_report.c $(CLI_ALL) $(LIB) -fopenmp=libgomp $(LDLIBS)

$(OUT)/bin/fuzz_%: fuzz/target.c $(LIB) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -fsanitize=fuzzer -DFUZZ_READER=fuzz_read_$* -o $@ $< $(LIB) -fopenmp=libgomp $(LDLIBS)

# The seed generator (fuzz/make_corpus.sh) saves files with the same library.
$(OUT)/bin/make_corpus: fuzz/make_corpus.c $(CLI_READER) $(LIB) $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) -fsanitize=fuzzer-no-link -o $@ fuzz/make_corpus.c $(CLI_READER) $(LIB) -fopenmp=libgomp $(LDLIBS)
