/* gd_dist without a launcher: a single process, rank 0 of 1, whose broadcast and barrier
 * do nothing; and, in a build without MPI, a launcher's environment of several processes
 * refused with the way to build with MPI (tests/mpi_test.sh runs the MPI build under
 * mpirun). */
#include <criterion/criterion.h>
#include <gradus.h>
#include <stdlib.h>
#include <string.h>

Test(dist, without_a_launcher_it_is_one_process)
{
    unsetenv("OMPI_COMM_WORLD_SIZE"), unsetenv("PMIX_RANK"), unsetenv("PMI_SIZE");
    unsetenv("SLURM_STEP_NUM_TASKS");
    gd_error err;
    cr_assert_eq(gd_dist_init(NULL, NULL, &err), GD_OK, "%s", err.message);
    cr_expect_eq(gd_dist_rank(), 0);
    cr_expect_eq(gd_dist_size(), 1);
    cr_expect_eq(gd_dist_local_size(), 1);
    int v = 42;
    cr_expect_eq(gd_dist_bcast(&v, sizeof v, 0, &err), GD_OK);
    cr_expect_eq(v, 42);
    cr_expect_eq(gd_dist_barrier(&err), GD_OK);
    gd_dist_finalize();
    cr_expect_eq(gd_dist_size(), 1);
}

Test(dist, a_build_without_mpi_refuses_a_job_of_several)
{
    if (gd_dist_built())
        cr_skip_test("built with MPI: tests/mpi_test.sh runs it under mpirun");
    setenv("OMPI_COMM_WORLD_SIZE", "2", 1);
    gd_error err;
    cr_expect_eq(gd_dist_init(NULL, NULL, &err), GD_ERR_INVALID_ARGUMENT);
    cr_expect(strstr(err.message, "make MPI=1") != NULL, "%s", err.message);
    unsetenv("OMPI_COMM_WORLD_SIZE");
}
