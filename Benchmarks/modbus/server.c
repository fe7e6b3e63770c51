/* A Modbus TCP server on libmodbus for the throughput benchmark: fast enough
 * that the client, not the server, sets the pace (pymodbus would not be).
 *   server PORT SECONDS   — serves 127.0.0.1:PORT, one connection at a time,
 *                           for at most SECONDS, then exits. */
#include <errno.h>
#include <modbus.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: %s PORT SECONDS\n", argv[0]);
        return 2;
    }
    int port = atoi(argv[1]);
    time_t end = time(NULL) + atoi(argv[2]);
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", port);
    modbus_mapping_t *map = modbus_mapping_new(0, 0, 2000, 2000);
    if (ctx == NULL || map == NULL) return 1;
    for (int i = 0; i < 2000; i++) {
        map->tab_registers[i] = (uint16_t)i;
        map->tab_input_registers[i] = (uint16_t)(i * 3);
    }
    int listener = modbus_tcp_listen(ctx, 4);
    if (listener < 0) {
        fprintf(stderr, "listen: %s\n", modbus_strerror(errno));
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
    while (time(NULL) < end) {
        fd_set set;
        FD_ZERO(&set);
        FD_SET(listener, &set);
        struct timeval wait = {1, 0};
        if (select(listener + 1, &set, NULL, NULL, &wait) <= 0) continue;
        if (modbus_tcp_accept(ctx, &listener) < 0) continue;
        while (time(NULL) < end) {
            int length = modbus_receive(ctx, query);
            if (length > 0) {
                modbus_reply(ctx, query, length, map);
            } else if (length == -1) {
                break; /* the client went away */
            }
        }
        modbus_close(ctx);
    }
    modbus_mapping_free(map);
    modbus_free(ctx);
    return 0;
}
