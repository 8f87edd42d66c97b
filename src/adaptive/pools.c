/* Adaptive pools' pure decisions (see pools.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adaptive/pools.h"
#include "common/util.h"

/* Is a a better server than b (both provide the resources)? */
static bool cheaper(const tide__pool_in *a, size_t ai, const tide__pool_in *b, size_t bi)
{
  if (a->cost != b->cost)
    return a->cost < b->cost;
  int an = a->res ? a->res->n : 0, bn = b->res ? b->res->n : 0;
  if (an != bn)
    return an < bn;
  return ai < bi;
}

int tide__pools_serve(const tide__pool_in *p, size_t np, const tide__res *need)
{
  int best = -1;
  for (size_t i = 0; i < np; i++)
    if (tide__res_fits(need, p[i].res, NULL) &&
        (best < 0 || cheaper(&p[i], i, &p[best], (size_t)best)))
      best = (int)i;
  return best;
}

void tide__pools_inputs(const tide__pool_in *p, size_t np, const tide__demand *d, size_t nd,
                        double target_duration, double memory_target_fraction,
                        tide__target_inputs *out, size_t *plain_share)
{
  if (!(target_duration > 0))
    target_duration = 5;
  double plain_occ = 0;
  size_t plain_n = 0;
  for (size_t i = 0; i < np; i++) {
    memset(&out[i], 0, sizeof out[i]);
    out[i].total_occupancy = p[i].occupancy;
    out[i].nprocessing = p[i].nprocessing;
    out[i].nworkers = p[i].nworkers;
    out[i].avg_nthreads = p[i].nworkers ? (p[i].nthreads > 0 ? p[i].nthreads : 1) : 0;
    out[i].total_nbytes = p[i].nbytes;
    out[i].total_memory_limit = p[i].memory_limit;
    out[i].memory_target_fraction = memory_target_fraction;
    if (plain_share)
      plain_share[i] = 0;
  }
  if (np == 0)
    return;
  for (size_t k = 0; k < nd; k++) {
    if (d[k].res.n == 0) {
      plain_occ += d[k].queued_occupancy;
      plain_n += d[k].nqueued;
      continue;
    }
    int i = tide__pools_serve(p, np, &d[k].res);
    if (i < 0)
      continue; /* refused at submission; nothing to grow for */
    out[i].queued_occupancy += d[k].queued_occupancy;
    out[i].nqueued += d[k].nqueued;
  }
  if (plain_n == 0)
    return;
  size_t *order = tide__xcalloc(np, sizeof *order);
  /* plain work goes to pools without resources, cheapest first; pools
   * advertising resources get it only when there is no other pool, so a
   * few GPU tasks never make small work grow the expensive workers */
  size_t no = 0;
  for (int pass = 0; pass < 2 && no == 0; pass++)
    for (size_t i = 0; i < np; i++) {
      bool special = p[i].res && p[i].res->n > 0;
      if (pass == 0 && special)
        continue;
      size_t j = no++; /* insertion sort: a few pools */
      for (; j > 0 && cheaper(&p[i], i, &p[order[j - 1]], order[j - 1]); j--)
        order[j] = order[j - 1];
      order[j] = i;
    }
  double occ_left = plain_occ;
  size_t n_left = plain_n;
  for (size_t o = 0; o < no && n_left > 0; o++) {
    size_t i = order[o];
    double th = p[i].nthreads > 0 ? p[i].nthreads : 1;
    /* workers its own work wants, and what is left below its maximum */
    double own =
        ceil((out[i].total_occupancy + out[i].queued_occupancy) / target_duration / th - 1e-9);
    double room = p[i].maximum - own;
    if (!(room > 0))
      continue;
    double want = ceil(occ_left / target_duration / th - 1e-9);
    if (want < 1)
      want = 1;
    double f = room >= want ? 1.0 : room / want;
    size_t n = f >= 1.0 ? n_left : (size_t)ceil((double)n_left * f);
    if (n > n_left)
      n = n_left;
    double occ = f >= 1.0 ? occ_left : occ_left * f;
    out[i].queued_occupancy += occ;
    out[i].nqueued += n;
    if (plain_share)
      plain_share[i] += n;
    occ_left -= occ;
    n_left -= n;
  }
  if (n_left > 0) { /* no pool has room: the first keeps asking (clipped later) */
    out[order[0]].queued_occupancy += occ_left;
    out[order[0]].nqueued += n_left;
    if (plain_share)
      plain_share[order[0]] += n_left;
  }
  free(order);
}

void tide__pools_arrival_in(const tide__target_inputs *in, int nthreads, double startup,
                            tide__arrival_in *out)
{
  memset(out, 0, sizeof *out);
  out->work = in->total_occupancy + in->queued_occupancy;
  out->ntasks = in->nqueued + in->nprocessing;
  out->npresent = (int)in->nworkers;
  out->threads = (double)in->nworkers * in->avg_nthreads;
  out->nthreads = in->avg_nthreads > 0 ? in->avg_nthreads : nthreads > 0 ? nthreads : 1;
  out->startup = startup;
}
