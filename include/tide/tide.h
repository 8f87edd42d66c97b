/* tide's umbrella header: the client library, the Cluster and its
 * backends, the Adaptive controller's options, the plugin API and errors.
 * Link with `pkg-config --cflags --libs tide`. */
#ifndef TIDE_TIDE_H
#define TIDE_TIDE_H

#include "tide/error.h"
#include "tide/log.h"
#include "tide/client.h"
#include "tide/task.h"
#include "tide/adaptive.h"
#include "tide/cluster.h"

#endif
