/*
 * app_int.h — private to src/app (and its white-box tests).
 *
 * The files of the module: config.c (settings), metrics.c (the Prometheus
 * registry), jobs.c (schedule definition → ingest job, the scheduler's job
 * and event callbacks).
 */
#ifndef LH_APP_INT_H
#define LH_APP_INT_H

#include "app.h"

#include <jansson.h>

#endif
