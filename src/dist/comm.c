/* Many processes through MPI (Open MPI from Debian, or whatever mpirun and srun launch):
 * who this process is among them, a broadcast and a barrier. Built with MPI (make MPI=1)
 * the library joins an MPI job when a launcher started it (its environment says so) and
 * is a single process otherwise; built without, it is always a single process, and
 * nothing changes for single-machine users. */
#include "../core/internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef GD_WITH_MPI
#include <mpi.h>
#endif

static int rank_, size_ = 1, local_size_ = 1;
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

gd_status gd_dist_init(int *argc, char ***argv, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    if (joined || !launched())
        return GD_OK;
#ifdef GD_WITH_MPI
    int provided;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return gd_fail(msg, GD_ERR_IO, "MPI_Init failed");
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    /* The ranks on this machine, which share its cores. */
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
    MPI_Comm_size(local, &local_size_);
    MPI_Comm_free(&local);
    joined = true;
    return GD_OK;
#else
    (void)argc, (void)argv;
    if (env_int("OMPI_COMM_WORLD_SIZE", env_int("PMI_SIZE", 1)) > 1)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "started by an MPI launcher, but this "
                       "gradus was built without MPI: build it with make MPI=1");
    return GD_OK;
#endif
}

int gd_dist_rank(void) { return rank_; }
int gd_dist_size(void) { return size_; }
int gd_dist_local_size(void) { return local_size_; }

gd_status gd_dist_bcast(void *buf, size_t bytes, int root, gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    if (size_ == 1)
        return GD_OK;
#ifdef GD_WITH_MPI
    if (bytes > (size_t)INT32_MAX)
        return gd_fail(msg, GD_ERR_INVALID_ARGUMENT, "broadcast of %zu bytes", bytes);
    return MPI_Bcast(buf, (int)bytes, MPI_BYTE, root, MPI_COMM_WORLD) == MPI_SUCCESS
               ? GD_OK : gd_fail(msg, GD_ERR_IO, "MPI_Bcast failed");
#else
    (void)buf, (void)bytes, (void)root;
    return gd_fail(msg, GD_ERR_STATE, "no MPI");
#endif
}

gd_status gd_dist_barrier(gd_error *err)
{
    char scratch[GD_MSG_MAX], *msg = err ? err->message : scratch;
    if (size_ == 1)
        return GD_OK;
#ifdef GD_WITH_MPI
    return MPI_Barrier(MPI_COMM_WORLD) == MPI_SUCCESS ? GD_OK
                                                      : gd_fail(msg, GD_ERR_IO, "MPI_Barrier failed");
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
    rank_ = 0, size_ = local_size_ = 1;
}
