#ifndef RAILGATE_CSOCKETCAN_SHIM_H
#define RAILGATE_CSOCKETCAN_SHIM_H
/* Prepared for the CAN south bus; no target imports it yet. */
#include <libsocketcan.h>
#endif
