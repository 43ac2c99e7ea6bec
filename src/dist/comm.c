/* Many processes through MPI (Open MPI from Debian, or whatever mpirun and srun launch):
 * who this process is among them, and the collectives the trainer and the search need.
 * Built with MPI (make MPI=1) the library joins an MPI job when a launcher started it
 * (its environment says so) and is a single process otherwise; built without, it is
 * always a single process, and nothing changes for single-machine users.
 *
 * A gd_comm is a group of ranks: the job's (gd_dist_world) or a part of it
 * (gd_comm_split, e.g. the ranks of one search trial). Every collective of a group of one
 * is a copy or nothing, so the callers never test for MPI themselves. */
#include "dist.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef GD_WITH_MPI
#include <mpi.h>
#endif

struct gd_comm {
    int rank, size;
    /* size each, the ordered sum's chunks: what goes to each rank, what comes from each
     * (NULL for one rank) */
    int *counts, *displs, *recv_counts, *recv_displs;
    gd_comm_traffic traffic;
#ifdef GD_WITH_MPI
    MPI_Comm mpi;
#endif
};

static gd_comm world = {.size = 1};
static int local_size_ = 1;
static bool joined;

bool gd_dist_built(void)
{
#ifdef GD_WITH_MPI
    return true;
#else
    return false;
#endif
}

/* mpirun (Open MPI), srun and Hydra (MPICH) name the job's size in the environment. */
static bool launched(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE",
                                       "SLURM_STEP_NUM_TASKS"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        if (getenv(vars[i]))
            return true;
    return false;
}

#ifndef GD_WITH_MPI
static int env_int(const char *name, int fallback)
{
    const char *v = getenv(name);
    int n = v ? atoi(v) : 0;
    return n > 0 ? n : fallback;
}
#endif

/* The chunk arrays of the ordered sum, made once per group: no collective allocates. */
static bool make_chunks(gd_comm *c)
{
    if (c->size == 1)
        return true;
    size_t n = (size_t)c->size;
    c->counts = calloc(n, sizeof(int));
    c->displs = calloc(n, sizeof(int));
    c->recv_counts = calloc(n, sizeof(int));
    c->recv_displs = calloc(n, sizeof(int));
    return c->counts && c->displs && c->recv_counts && c->recv_displs;
}

static void free_chunks(gd_comm *c)
{
    free(c->counts);
    free(c->displs);
    free(c->recv_counts);
    free(c->recv_displs);
}

gd_status gd_dist_init(int *argc, char ***argv, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    if (joined || !launched())
        return GD_OK;
#ifdef GD_WITH_MPI
    int provided;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return gd_fail(msg, GD_ERR_IO, "MPI_Init failed");
    world.mpi = MPI_COMM_WORLD;
    MPI_Comm_rank(MPI_COMM_WORLD, &world.rank);
    MPI_Comm_size(MPI_COMM_WORLD, &world.size);
    /* The ranks on this machine, which share its cores. */
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, world.rank, MPI_INFO_NULL, &local);
    MPI_Comm_size(local, &local_size_);
    MPI_Comm_free(&local);
    joined = true;
    if (!make_chunks(&world))
        return gd_fail(msg, GD_ERR_NO_MEMORY, "MPI: out of memory for %d ranks", world.size);
    return GD_OK;
#else
    (void)argc, (void)argv;
    if (env_int("OMPI_COMM_WORLD_SIZE", env_int("PMI_SIZE", 1)) > 1)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "started by an MPI launcher, but this "
                       "gradus was built without MPI: build it with make MPI=1");
    return GD_OK;
#endif
}

gd_comm *gd_dist_world(void) { return &world; }
int gd_dist_rank(void) { return world.rank; }
int gd_dist_size(void) { return world.size; }
int gd_dist_local_size(void) { return local_size_; }
int gd_comm_rank(const gd_comm *c) { return c ? c->rank : 0; }
int gd_comm_size(const gd_comm *c) { return c ? c->size : 1; }

gd_status gd_comm_split(gd_comm *parent, int color, gd_comm **out, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    *out = NULL;
    if (color < 0)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "comm split: color %d, must be >= 0", color);
    gd_comm *c = calloc(1, sizeof *c);
    if (!c)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "comm split: out of memory");
    c->size = 1;
#ifdef GD_WITH_MPI
    if (parent->size > 1) {
        if (MPI_Comm_split(parent->mpi, color, parent->rank, &c->mpi) != MPI_SUCCESS) {
            free(c);
            return gd_fail(msg, GD_ERR_IO, "MPI_Comm_split failed");
        }
        MPI_Comm_rank(c->mpi, &c->rank);
        MPI_Comm_size(c->mpi, &c->size);
    } else {
        c->mpi = MPI_COMM_SELF;
    }
#else
    (void)parent;
#endif
    if (!make_chunks(c)) {
        gd_comm_free(c);
        return gd_fail(msg, GD_ERR_NO_MEMORY, "comm split: out of memory");
    }
    *out = c;
    return GD_OK;
}

void gd_comm_free(gd_comm *c)
{
    if (!c || c == &world)
        return;
#ifdef GD_WITH_MPI
    if (c->size > 1)
        MPI_Comm_free(&c->mpi);
#endif
    free_chunks(c);
    free(c);
}

const gd_comm_traffic *gd_comm_traffic_of(const gd_comm *c) { return &c->traffic; }

/* ------------------------------------------------------------ collectives */

#ifdef GD_WITH_MPI
static gd_status mpi_result(int rc, const char *what, char *msg)
{
    return rc == MPI_SUCCESS ? GD_OK : gd_fail(msg, GD_ERR_IO, "%s failed", what);
}

/* Time and bytes of a reduction, for the scaling benchmark. */
static void count(gd_comm *c, double start, size_t bytes)
{
    c->traffic.seconds += MPI_Wtime() - start;
    c->traffic.bytes += bytes;
    c->traffic.calls++;
}
#endif

gd_status gd_comm_bcast(gd_comm *c, void *buf, size_t bytes, int root, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    if (c->size == 1)
        return GD_OK;
#ifdef GD_WITH_MPI
    /* In pieces of at most 1 GiB: MPI counts are ints. */
    for (size_t done = 0; done < bytes;) {
        size_t part = bytes - done < (1u << 30) ? bytes - done : (1u << 30);
        gd_status st = mpi_result(MPI_Bcast((char *)buf + done, (int)part, MPI_BYTE, root, c->mpi),
                                  "MPI_Bcast", msg);
        if (st != GD_OK)
            return st;
        done += part;
    }
    return GD_OK;
#else
    (void)buf, (void)bytes, (void)root;
    return gd_fail(msg, GD_ERR_STATE, "no MPI");
#endif
}

gd_status gd_comm_allgather(gd_comm *c, const void *mine, size_t bytes, void *all, char *msg)
{
    if (c->size == 1) {
        memmove(all, mine, bytes);
        return GD_OK;
    }
#ifdef GD_WITH_MPI
    if (bytes > INT_MAX)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "allgather of %zu bytes", bytes);
    return mpi_result(MPI_Allgather(mine, (int)bytes, MPI_BYTE, all, (int)bytes, MPI_BYTE, c->mpi),
                      "MPI_Allgather", msg);
#else
    return gd_fail(msg, GD_ERR_STATE, "no MPI");
#endif
}

#ifdef GD_WITH_MPI
/* MPI counts elements in ints. */
static gd_status countable(size_t n, char *msg)
{
    return n <= INT_MAX ? GD_OK
                        : gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "a sum of %zu floats", n);
}
#endif

gd_status gd_comm_sum_f32(gd_comm *c, float *buf, size_t n, char *msg)
{
    if (c->size == 1)
        return GD_OK;
#ifdef GD_WITH_MPI
    if (countable(n, msg) != GD_OK)
        return GD_ERR_INVALID_ARGUMENT;
    double start = MPI_Wtime();
    gd_status st = mpi_result(MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, c->mpi),
                              "MPI_Allreduce", msg);
    count(c, start, n * sizeof *buf);
    return st;
#else
    (void)buf, (void)n;
    return gd_fail(msg, GD_ERR_STATE, "no MPI");
#endif
}

size_t gd_comm_ordered_scratch(const gd_comm *c, size_t n)
{
    return c->size == 1 ? 0 : (size_t)c->size * (n / (size_t)c->size + 1);
}

/* Rank r owns chunk r of the buffer: every rank sends it its copy of that chunk
 * (MPI_Alltoallv), r adds the copies in rank order, and every rank gathers the sums
 * (MPI_Allgatherv). The bytes moved are those of a ring allreduce; the order of the
 * additions is fixed, whatever algorithm MPI picks for either step. */
gd_status gd_comm_sum_f32_ordered(gd_comm *c, float *buf, size_t n, float *scratch, char *msg)
{
    if (c->size == 1)
        return GD_OK;
#ifdef GD_WITH_MPI
    if (countable(n, msg) != GD_OK)
        return GD_ERR_INVALID_ARGUMENT;
    double start = MPI_Wtime();
    int size = c->size, mine = c->rank;
    for (int r = 0; r < size; r++) {
        c->displs[r] = (int)((size_t)r * n / (size_t)size);
        c->counts[r] = (int)((size_t)(r + 1) * n / (size_t)size) - c->displs[r];
    }
    int len = c->counts[mine];
    /* Rank s's copy of my chunk lands at scratch + s len. */
    for (int s = 0; s < size; s++) {
        c->recv_counts[s] = len;
        c->recv_displs[s] = s * len;
    }
    int rc = MPI_Alltoallv(buf, c->counts, c->displs, MPI_FLOAT, scratch, c->recv_counts,
                           c->recv_displs, MPI_FLOAT, c->mpi);
    if (rc == MPI_SUCCESS) {
        float *sum = buf + c->displs[mine];
        for (int i = 0; i < len; i++) {
            float v = scratch[i];
            for (int s = 1; s < size; s++)
                v += scratch[(size_t)s * (size_t)len + (size_t)i];
            sum[i] = v;
        }
        rc = MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buf, c->counts, c->displs,
                            MPI_FLOAT, c->mpi);
    }
    count(c, start, n * sizeof *buf);
    return mpi_result(rc, "the ordered sum (MPI_Alltoallv, MPI_Allgatherv)", msg);
#else
    (void)buf, (void)n, (void)scratch;
    return gd_fail(msg, GD_ERR_STATE, "no MPI");
#endif
}

gd_status gd_comm_agree(gd_comm *c, int *code, int *rank_of, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    if (rank_of)
        *rank_of = c->rank;
    if (c->size == 1)
        return GD_OK;
    int stack[64], *all = c->size <= 64 ? stack : malloc((size_t)c->size * sizeof *all);
    if (!all)
        return gd_fail(msg, GD_ERR_NO_MEMORY, "agree: out of memory for %d ranks", c->size);
    gd_status st = gd_comm_allgather(c, code, sizeof *code, all, msg);
    for (int r = 0; st == GD_OK && r < c->size; r++)
        if (all[r] != 0) {
            *code = all[r];
            if (rank_of)
                *rank_of = r;
            break;
        }
    if (all != stack)
        free(all);
    return st;
}

gd_status gd_dist_bcast(void *buf, size_t bytes, int root, gd_error *err)
{
    return gd_comm_bcast(&world, buf, bytes, root, err);
}

gd_status gd_dist_barrier(gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    if (world.size == 1)
        return GD_OK;
#ifdef GD_WITH_MPI
    return mpi_result(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier", msg);
#else
    return gd_fail(msg, GD_ERR_STATE, "no MPI");
#endif
}

void gd_dist_finalize(void)
{
#ifdef GD_WITH_MPI
    if (joined)
        MPI_Finalize();
#endif
    joined = false;
    free_chunks(&world);
    world = (gd_comm){.size = 1};
    local_size_ = 1;
}
