#ifndef RAILGATE_CMOSQUITTO_SHIM_H
#define RAILGATE_CMOSQUITTO_SHIM_H
#include <mosquitto.h>
#endif
