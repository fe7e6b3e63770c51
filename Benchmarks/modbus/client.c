/* The reference client: modbus_read_registers in a tight loop.
 *   client PORT SECONDS COUNT   — reads COUNT holding registers at 0 for
 *                                 SECONDS, prints transactions per second,
 *                                 transactions done and failed. */
#include <errno.h>
#include <modbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: %s PORT SECONDS COUNT\n", argv[0]);
        return 2;
    }
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", atoi(argv[1]));
    if (ctx == NULL || modbus_connect(ctx) != 0) {
        fprintf(stderr, "connect: %s\n", modbus_strerror(errno));
        return 1;
    }
    modbus_set_slave(ctx, 1);
    int count = atoi(argv[3]);
    uint16_t registers[125];
    double start = now(), end = start + atof(argv[2]);
    long done = 0, failed = 0;
    while (now() < end) {
        if (modbus_read_registers(ctx, 0, count, registers) == count) done++; else failed++;
    }
    printf("%.0f %ld %ld\n", done / (now() - start), done, failed);
    modbus_close(ctx);
    modbus_free(ctx);
    return failed == 0 ? 0 : 1;
}
