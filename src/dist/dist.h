/* The collectives inside the library (comm.c): what the data-parallel trainer and
 * synchronised batch norm exchange. Each works on a group of one as a copy or nothing. */
#ifndef GD_DIST_H
#define GD_DIST_H

#include "../core/internal.h"

/* What a group's gradient sums have cost so far (the scaling benchmark reads it). */
typedef struct gd_comm_traffic {
    double seconds;  /* inside the sums */
    uint64_t bytes;  /* the buffers summed (a ring moves 2 (N - 1) / N of them a rank) */
    uint64_t calls;
} gd_comm_traffic;

/* Every rank's bytes of mine, in rank order, into all (size x bytes). */
gd_status gd_comm_allgather(gd_comm *c, const void *mine, size_t bytes, void *all, char *msg);
/* buf = the sum of every rank's buf (MPI_Allreduce): MPI chooses the order. */
gd_status gd_comm_sum_f32(gd_comm *c, float *buf, size_t n, char *msg);
/* The same sum added in rank order, the same bits whatever MPI's algorithms; scratch holds
 * gd_comm_ordered_scratch(c, n) floats. */
gd_status gd_comm_sum_f32_ordered(gd_comm *c, float *buf, size_t n, float *scratch, char *msg);
size_t gd_comm_ordered_scratch(const gd_comm *c, size_t n);
const gd_comm_traffic *gd_comm_traffic_of(const gd_comm *c);

#endif
