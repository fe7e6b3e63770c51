#ifndef RAILGATE_CSOCKETCAN_SHIM_H
#define RAILGATE_CSOCKETCAN_SHIM_H
/* libsocketcan: CAN interface control for CANSouth. */
#include <libsocketcan.h>
#endif
