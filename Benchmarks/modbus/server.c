/* A Modbus server on libmodbus for the benchmarks: fast enough that the
 * client, not the server, sets the pace (pymodbus would not be).
 *   server PORT SECONDS     — Modbus TCP on 127.0.0.1:PORT, one connection
 *                             at a time
 *   server /dev/pts/N SECONDS
 *                           — Modbus RTU on a serial device (one end of a
 *                             PTY pair), 19200 8N1, unit 1
 * Serves 65536 holding registers (value = address) and 65536 input
 * registers (value = 3 × address) for at most SECONDS; with a third argument
 * "changing" (scripts/soak), each read adds 1 to the first register it asks
 * for, so that values keep changing. On SIGUSR1 prints
 * "requests N request_bytes B reply_bytes R" — the requests answered so far
 * and the ADU octets in each direction, CRC or MBAP header included; on
 * SIGTERM, or when the time is up, prints the same and exits. With a third
 * argument "writes" (scripts/bench writes), each register write (function
 * 6, or 16: its first register) prints "write ADDRESS VALUE NS" when it arrives, NS being
 * CLOCK_REALTIME in nanoseconds. */
#include <errno.h>
#include <modbus.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <time.h>
#include <unistd.h>

static volatile long requests, request_bytes, reply_bytes;
static int changing, writes;

/* Writes a decimal number with write(2): the signal handler may not use stdio. */
static void put_number(const char *label, long value) {
    char text[64];
    size_t at = sizeof text;
    text[--at] = '\0';
    do {
        text[--at] = (char)('0' + value % 10);
        value /= 10;
    } while (value > 0 && at > 0);
    (void)!write(STDOUT_FILENO, label, strlen(label));
    (void)!write(STDOUT_FILENO, text + at, strlen(text + at));
}

static void report(void) {
    put_number("requests ", requests);
    put_number(" request_bytes ", request_bytes);
    put_number(" reply_bytes ", reply_bytes);
    (void)!write(STDOUT_FILENO, "\n", 1);
}

static void on_signal(int signal) {
    report();
    if (signal == SIGTERM) _exit(0);
}

static void serve(modbus_t *ctx, modbus_mapping_t *map, time_t end) {
    uint8_t query[MODBUS_TCP_MAX_ADU_LENGTH];
    while (time(NULL) < end) {
        int length = modbus_receive(ctx, query);
        if (length > 0) {
            int sent = modbus_reply(ctx, query, length, map);
            if (sent > 0) {
                int header = modbus_get_header_length(ctx);
                int single = query[header] == 0x06 && length >= header + 5;
                int multiple = query[header] == 0x10 && length >= header + 8;
                if (writes && (single || multiple)) {
                    struct timespec now;
                    clock_gettime(CLOCK_REALTIME, &now);
                    int value = single ? header + 3 : header + 6;
                    put_number("write ", query[header + 1] << 8 | query[header + 2]);
                    put_number(" ", query[value] << 8 | query[value + 1]);
                    put_number(" ", (long)now.tv_sec * 1000000000L + now.tv_nsec);
                    (void)!write(STDOUT_FILENO, "\n", 1);
                }
                if (changing && length >= header + 5 && query[header] == 0x03) {
                    int start = query[header + 1] << 8 | query[header + 2];
                    map->tab_registers[start]++;
                }
                request_bytes += length;
                reply_bytes += sent;
                requests++;
            }
        } else if (length == -1 && errno != EMBBADCRC && errno != EMBBADDATA) {
            return; /* the client went away (TCP) or the line failed */
        }
    }
}

int main(int argc, char **argv) {
    if (argc != 3 && !(argc == 4 && (strcmp(argv[3], "changing") == 0 || strcmp(argv[3], "writes") == 0))) {
        fprintf(stderr, "usage: %s PORT|DEVICE SECONDS [changing|writes]\n", argv[0]);
        return 2;
    }
    changing = argc == 4 && strcmp(argv[3], "changing") == 0;
    writes = argc == 4 && strcmp(argv[3], "writes") == 0;
    int rtu = argv[1][0] == '/';
    time_t end = time(NULL) + atoi(argv[2]);
    struct sigaction action = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGUSR1, &action, NULL);
    modbus_t *ctx = rtu ? modbus_new_rtu(argv[1], 19200, 'N', 8, 1) : modbus_new_tcp("127.0.0.1", atoi(argv[1]));
    modbus_mapping_t *map = modbus_mapping_new(0, 0, 65536, 65536);
    if (ctx == NULL || map == NULL) return 1;
    for (int i = 0; i < 65536; i++) {
        map->tab_registers[i] = (uint16_t)i;
        map->tab_input_registers[i] = (uint16_t)(i * 3);
    }
    if (rtu) {
        modbus_set_slave(ctx, 1);
        if (modbus_connect(ctx) != 0) {
            fprintf(stderr, "open %s: %s\n", argv[1], modbus_strerror(errno));
            return 1;
        }
        printf("ready\n");
        fflush(stdout);
        while (time(NULL) < end) serve(ctx, map, end);
    } else {
        int listener = modbus_tcp_listen(ctx, 4);
        if (listener < 0) {
            fprintf(stderr, "listen: %s\n", modbus_strerror(errno));
            return 1;
        }
        printf("ready\n");
        fflush(stdout);
        while (time(NULL) < end) {
            fd_set set;
            FD_ZERO(&set);
            FD_SET(listener, &set);
            struct timeval wait = {1, 0};
            if (select(listener + 1, &set, NULL, NULL, &wait) <= 0) continue;
            if (modbus_tcp_accept(ctx, &listener) < 0) continue;
            serve(ctx, map, end);
            modbus_close(ctx);
        }
    }
    report();
    modbus_mapping_free(map);
    modbus_free(ctx);
    return 0;
}
