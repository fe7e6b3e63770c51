#ifndef RAILGATE_CMODBUS_SHIM_H
#define RAILGATE_CMODBUS_SHIM_H
#include <modbus.h>
#endif
