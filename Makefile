# gradus: GNU Makefile. `make`, `make test`, `make test SAN=1`, `make bench`,
# `make install PREFIX=...`, `make golden`, `make fuzz`, `make clean`.

PREFIX ?= /usr/local
CC ?= cc
SAN ?= 0

PKGS := lapacke
# OpenBLAS built for OpenMP (Debian's libopenblas0-openmp): its threads are libgomp's, the
# same pool as gradus's own loops. With the default pthread build, OpenBLAS's idle threads
# spin while OpenMP's run, and on 2 cores a step took 3x longer on 2 threads than on 1.
# The headers are the same in every variant; rpath picks this variant's library at run
# time whatever Debian's alternatives point to.
OPENBLAS_DIR := /usr/lib/x86_64-linux-gnu/openblas-openmp
OPENBLAS_CFLAGS := -I/usr/include/x86_64-linux-gnu/openblas-pthread
# LAPACKE's liblapack.so.3 and libblas.so.3 are taken from the same folder (as direct
# dependencies, so that RUNPATH applies), else Debian's alternatives would load the pthread
# build beside this one.
OPENBLAS_LIBS := -L$(OPENBLAS_DIR) -Wl,--push-state,--no-as-needed -l:libopenblas.so.0 \
                 -l:liblapack.so.3 -l:libblas.so.3 -Wl,--pop-state -Wl,-rpath,$(OPENBLAS_DIR)
VALGRIND ?= 0
# The release build's target CPU: native tunes it to this machine; CI also builds for a
# generic one (x86-64-v3, AVX2 and no AVX-512), in its own folder, so that no test can
# depend on one machine's instructions.
MARCH ?= native
MPI ?= 0
BUILD := build$(if $(filter 1,$(MPI)),/mpi,$(if $(filter 1,$(SAN)),/san,$(if $(filter 1,$(VALGRIND)),/valgrind,$(if $(filter native,$(MARCH)),/release,/$(MARCH)))))

# Quiet, with a fallback: on a fresh machine the first make runs before the dependency
# step has installed pkg-config's files, and a new user's first screen should not be
# errors.
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(or $(shell pkg-config --libs $(PKGS) 2>/dev/null),-llapacke)
CFLAGS_BASE := -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -Wshadow -Wstrict-prototypes -fopenmp -Iinclude \
               $(OPENBLAS_CFLAGS) $(PKG_CFLAGS)
SANFLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined
ifeq ($(SAN),1)
OPT := -O1 -g -fno-omit-frame-pointer $(SANFLAGS)
LDFLAGS := -fopenmp $(SANFLAGS)
else ifeq ($(VALGRIND),1)
# valgrind 3.19 does not decode AVX-512, which -march=native emits on this machine.
OPT := -O2 -g -march=x86-64-v3
LDFLAGS := -fopenmp
else
# -fno-math-errno: gradus never reads errno after libm, and sqrtf cannot be vectorised
# while it might set it (Adam's step ran 4x slower).
OPT := -O3 -march=$(MARCH) -fno-math-errno -g
LDFLAGS := -fopenmp
endif
CFLAGS ?=
CFLAGS += $(CFLAGS_BASE) $(OPT)
# make MPI=1: Open MPI (Debian's libopenmpi-dev) in its own build folder, build/mpi; the
# library then joins a job that mpirun or srun started (src/dist, docs/distributed.md).
ifeq ($(MPI),1)
CFLAGS += -DGD_WITH_MPI $(shell pkg-config --cflags ompi-c)
MPI_LIBS := $(shell pkg-config --libs ompi-c)
endif
LIB_CFLAGS := -fPIC -fvisibility=hidden -DGD_BUILDING_LIBRARY
# oneDNN's sgemm for the layers' products (src/core/gemm.c), where Debian's libdnnl-dev is
# installed (scripts/install-deps.sh installs it); DNNL=0 builds with OpenBLAS's alone.
DNNL ?= $(if $(wildcard /usr/include/oneapi/dnnl/dnnl.h),1,0)
ifeq ($(DNNL),1)
CFLAGS += -DGD_WITH_DNNL
DNNL_LIBS := -ldnnl
endif
LDLIBS := $(OPENBLAS_LIBS) $(DNNL_LIBS) $(PKG_LIBS) $(MPI_LIBS) -lcjson -lpng -lz -lm

LIB_SRC := $(sort $(wildcard src/*/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_SRC := $(sort $(wildcard cli/*.c))
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
CLI := $(BUILD)/gradus
TEST_SRC := $(sort $(wildcard tests/*.c))
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
EXAMPLES := $(patsubst examples/%.c,$(BUILD)/examples/%,$(wildcard examples/*.c))
BENCHES := $(patsubst bench/%.c,$(BUILD)/bench/%,$(wildcard bench/*.c))

STATIC := $(BUILD)/libgradus.a
SHARED := $(BUILD)/libgradus.so
TESTBIN := $(BUILD)/tests/gradus-tests

.PHONY: all lib examples test bench install install-check clean golden deps deps-train train test-run test-unit valgrind fuzz
all: lib $(CLI) examples $(BENCHES)
lib: $(STATIC) $(SHARED)
examples: $(EXAMPLES)

$(BUILD)/src/%.o: src/%.c $(wildcard include/*.h src/*/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LIB_CFLAGS) -c $< -o $@

$(STATIC): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(SHARED): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,libgradus.so.$(word 1,$(subst ., ,$(VERSION))) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The command line is a client of the public header only: no -Isrc.
$(BUILD)/cli/%.o: cli/%.c include/gradus.h $(wildcard cli/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(CLI): $(CLI_OBJ) $(STATIC)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(STATIC) $(LDLIBS)

$(BUILD)/tests/%.o: tests/%.c $(wildcard include/*.h src/*/*.h tests/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# Allocation calls are wrapped so that tests/test_no_alloc.c can count them.
WRAP_ALLOC := -Wl,--wrap=malloc,--wrap=calloc,--wrap=realloc,--wrap=aligned_alloc
# The command's own readers (config.json, the report's files) are tested too: the test
# binary links cli/'s objects, all but main.o.
CLI_LIB_OBJ := $(filter-out $(BUILD)/cli/main.o,$(CLI_OBJ))
$(TESTBIN): $(TEST_OBJ) $(CLI_LIB_OBJ) $(STATIC)
	$(CC) $(LDFLAGS) $(WRAP_ALLOC) -o $@ $(TEST_OBJ) $(CLI_LIB_OBJ) $(STATIC) -lcriterion $(LDLIBS)

$(BUILD)/examples/%: examples/%.c $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(STATIC) $(LDLIBS)

$(BUILD)/bench/%: bench/%.c bench/bench.h $(STATIC)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(STATIC) $(LDLIBS)

# Criterion forks a process per test; --jobs 2 matches this machine's cores.
# TEST_ARGS (e.g. --filter 'loss/*') narrows the unit suite and skips the command's tests.
test: deps-train
	$(MAKE) --no-print-directory test-run

test-run: $(TESTBIN) $(EXAMPLES)
	tests/run_unit.sh $(TESTBIN) $(TEST_ARGS)
	@[ -n "$(TEST_ARGS)" ] || { $(MAKE) --no-print-directory $(CLI) && tests/cli_test.sh $(CLI); }

# The unit suite alone (CI runs it on the generic build: make test-unit MARCH=x86-64-v3).
test-unit: $(TESTBIN)
	tests/run_unit.sh $(TESTBIN) $(TEST_ARGS)

# libFuzzer targets for every reader of user files and text, FUZZ_SECONDS each
# (fuzz/README.md); clang builds them in build/fuzz.
FUZZ_SECONDS ?= 30
fuzz:
	fuzz/run.sh $(FUZZ_SECONDS)

deps:
	scripts/install-deps.sh

# A new user's first command: installs what is missing (the data set too), builds, and
# trains the default model on Fashion-MNIST, printing its test accuracy.
train: deps-train
	$(MAKE) --no-print-directory $(CLI)
	$(CLI) train

deps-train:
	scripts/install-deps.sh dataset-fashion-mnist

# The examples and the command under valgrind (memcheck): no errors, no leaks.
valgrind: deps-train
	$(MAKE) --no-print-directory VALGRIND=1 all
	tests/valgrind.sh build/valgrind

bench: $(BENCHES)
	@for b in $(BENCHES); do $$b || exit 1; done

# Regenerates the PyTorch golden files (needs Debian's python3-torch; CI never runs it).
golden:
	@for g in tests/reference/gen_*.py; do echo "$$g"; /usr/bin/python3 "$$g" tests/reference || exit 1; done

VERSION := $(shell sed -n 's/^\#define GD_VERSION_STRING "\(.*\)"/\1/p' include/gradus.h)
install: $(STATIC) $(SHARED) $(CLI)
	@case '$(PREFIX)' in /*) ;; *) echo "make install: PREFIX=$(PREFIX) must be an absolute path" \
	    "(gradus.pc and the rpath it gives programs name it)" >&2; exit 2 ;; esac
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(CLI) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 include/gradus.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 $(STATIC) $(DESTDIR)$(PREFIX)/lib/
	install -m 755 $(SHARED) $(DESTDIR)$(PREFIX)/lib/libgradus.so.$(VERSION)
	ln -sf libgradus.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libgradus.so.$(word 1,$(subst ., ,$(VERSION)))
	ln -sf libgradus.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libgradus.so
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' -e 's|@BLAS_LIBS@|$(OPENBLAS_LIBS) $(DNNL_LIBS)|' \
	    gradus.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/gradus.pc

# Installs into a temporary prefix and builds, links (shared and static, through
# pkg-config) and runs a program against that copy (tests/install_check.sh).
install-check: $(STATIC) $(SHARED) $(CLI)
	tests/install_check.sh $(BUILD)

clean:
	rm -rf build
