/* OPC UA Read load for scripts/bench: the open62541 client (Debian's
 * libopen62541-1.4) sends the same Read requests to any server.
 *
 *   ua-ref-read --url opc.tcp://127.0.0.1:4840 --nodes FILE --per-request N \
 *               --connections C --seconds S
 *
 * FILE holds one NodeId per line in text form (ns=1;s=…). Each of C
 * processes opens its own channel and session (Security None, anonymous),
 * then all start together and send Read requests of N Value attributes
 * (timestamps Both), one in flight each, for S seconds. Prints
 * `requests=R seconds=S rate=R/S failures=F` — a failure is a request
 * whose service result or any item's status is not Good.
 *
 *   ua-ref-read --url URL --write NODEID --count N --gap-ms G
 *
 * instead writes the UInt16 values 1…N to NODEID's Value, one at a time, G ms
 * apart, and prints for each "write VALUE SENT_NS DONE_NS STATUS" (CLOCK_REALTIME
 * when the request left and when its response came; STATUS 0 is Good). */

#include <open62541/client.h>
#include <open62541/client_config_default.h>
#include <open62541/client_highlevel.h>
#include <open62541/plugin/log_stdout.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_CONNECTIONS 64

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t loadNodes(const char *path, UA_NodeId **out) {
    FILE *file = fopen(path, "r");
    if (!file) return 0;
    size_t count = 0, capacity = 1024;
    UA_NodeId *ids = calloc(capacity, sizeof *ids);
    char line[512];
    while (ids && fgets(line, sizeof line, file)) {
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0]) continue;
        if (count == capacity) {
            capacity *= 2;
            UA_NodeId *grown = realloc(ids, capacity * sizeof *ids);
            if (!grown) break;
            ids = grown;
        }
        if (UA_NodeId_parse(&ids[count], UA_STRING(line)) == UA_STATUSCODE_GOOD) count++;
    }
    fclose(file);
    *out = ids;
    return count;
}

/* A client connected to `url` (Security None, anonymous), or NULL. */
static UA_Client *connectClient(const char *url) {
    UA_ClientConfig config;
    memset(&config, 0, sizeof config);
    config.logging = UA_Log_Stdout_new(UA_LOGLEVEL_ERROR);
    UA_ClientConfig_setDefault(&config);
    config.timeout = 10000;
    UA_Client *client = UA_Client_newWithConfig(&config);
    if (client && UA_Client_connect(client, url) != UA_STATUSCODE_GOOD) {
        UA_Client_delete(client);
        client = NULL;
    }
    if (!client) fprintf(stderr, "ua-ref-read: cannot connect to %s\n", url);
    return client;
}

/* One connection: connect, report ready, wait for the start, read until
 * the deadline; its counts go to `report` as "requests failures seconds". */
static int run(const char *url, const UA_NodeId *ids, size_t idCount, size_t perRequest, double seconds,
               int ready, int start, int report) {
    UA_Client *client = connectClient(url);
    if (!client) return 1;
    UA_ReadValueId *items = calloc(perRequest, sizeof *items);
    for (size_t i = 0; i < perRequest; i++) {
        UA_ReadValueId_init(&items[i]);
        items[i].nodeId = ids[i % idCount];
        items[i].attributeId = UA_ATTRIBUTEID_VALUE;
    }
    UA_ReadRequest request;
    UA_ReadRequest_init(&request);
    request.nodesToRead = items;
    request.nodesToReadSize = perRequest;
    request.timestampsToReturn = UA_TIMESTAMPSTORETURN_BOTH;

    char byte = 1;
    if (write(ready, &byte, 1) != 1 || read(start, &byte, 1) != 1) return 1;
    unsigned long requests = 0, failures = 0;
    double begin = now(), end = begin + seconds, t = begin;
    while (t < end) {
        UA_ReadResponse response = UA_Client_Service_read(client, request);
        int failed = response.responseHeader.serviceResult != UA_STATUSCODE_GOOD
                     || response.resultsSize != perRequest;
        for (size_t i = 0; !failed && i < response.resultsSize; i++)
            failed = response.results[i].status != UA_STATUSCODE_GOOD || !response.results[i].hasValue;
        UA_ReadResponse_clear(&response);
        requests++;
        failures += failed;
        t = now();
    }
    char line[128];
    int length = snprintf(line, sizeof line, "%lu %lu %.6f\n", requests, failures, t - begin);
    if (write(report, line, (size_t)length) != length) return 1;
    free(items);
    UA_Client_disconnect(client);
    UA_Client_delete(client);
    return 0;
}

static UA_DateTime realtimeNs(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (UA_DateTime)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int writes(const char *url, const char *node, long count, long gapMs) {
    UA_NodeId id;
    if (UA_NodeId_parse(&id, UA_STRING((char *)(uintptr_t)node)) != UA_STATUSCODE_GOOD) return 2;
    UA_Client *client = connectClient(url);
    if (!client) return 1;
    for (long i = 1; i <= count; i++) {
        UA_UInt16 value = (UA_UInt16)i;
        UA_Variant variant;
        UA_Variant_setScalar(&variant, &value, &UA_TYPES[UA_TYPES_UINT16]);
        UA_DateTime sent = realtimeNs();
        UA_StatusCode status = UA_Client_writeValueAttribute(client, id, &variant);
        UA_DateTime done = realtimeNs();
        printf("write %ld %lld %lld %u\n", i, (long long)sent, (long long)done, status);
        fflush(stdout);
        struct timespec gap = {gapMs / 1000, (gapMs % 1000) * 1000000};
        nanosleep(&gap, NULL);
    }
    UA_Client_disconnect(client);
    UA_Client_delete(client);
    UA_NodeId_clear(&id);
    return 0;
}

int main(int argc, char **argv) {
    const char *url = "opc.tcp://127.0.0.1:4840", *nodesFile = NULL;
    size_t perRequest = 100;
    int connections = 1;
    double seconds = 5;
    const char *writeNode = NULL;
    long count = 100, gapMs = 10;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--url")) url = argv[i + 1];
        else if (!strcmp(argv[i], "--write")) writeNode = argv[i + 1];
        else if (!strcmp(argv[i], "--count")) count = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--gap-ms")) gapMs = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--nodes")) nodesFile = argv[i + 1];
        else if (!strcmp(argv[i], "--per-request")) perRequest = (size_t)atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--connections")) connections = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--seconds")) seconds = atof(argv[i + 1]);
    }
    if (writeNode) {
        if (count < 1 || count > 65535 || gapMs < 0 || gapMs > 10000) {
            fprintf(stderr, "usage: ua-ref-read --url URL --write NODEID --count 1..65535 --gap-ms 0..10000\n");
            return 2;
        }
        return writes(url, writeNode, count, gapMs);
    }
    UA_NodeId *ids = NULL;
    size_t idCount = nodesFile ? loadNodes(nodesFile, &ids) : 0;
    if (!idCount || !perRequest || connections < 1 || connections > MAX_CONNECTIONS || !(seconds > 0 && seconds <= 600)) {
        fprintf(stderr, "usage: ua-ref-read --url URL --nodes FILE --per-request N --connections 1..%d --seconds S\n",
                MAX_CONNECTIONS);
        return 2;
    }
    int ready[2], start[2], report[2];
    if (pipe(ready) || pipe(start) || pipe(report)) return 1;
    for (int c = 0; c < connections; c++) {
        pid_t pid = fork();
        if (pid < 0) return 1;
        if (pid == 0) _exit(run(url, ids, idCount, perRequest, seconds, ready[1], start[0], report[1]));
    }
    close(ready[1]);
    close(report[1]);
    char byte;
    for (int c = 0; c < connections; c++)
        if (read(ready[0], &byte, 1) != 1) {
            fprintf(stderr, "ua-ref-read: a connection failed before the start\n");
            return 1;
        }
    char go[MAX_CONNECTIONS];
    memset(go, 1, sizeof go);
    if (write(start[1], go, (size_t)connections) != connections) return 1;

    unsigned long requests = 0, failures = 0;
    double longest = 0;
    FILE *reports = fdopen(report[0], "r");
    unsigned long r, f;
    double s;
    int reported = 0;
    while (reports && fscanf(reports, "%lu %lu %lf", &r, &f, &s) == 3) {
        requests += r;
        failures += f;
        if (s > longest) longest = s;
        reported++;
    }
    int status = 0;
    while (wait(&status) > 0) {}
    if (reported != connections || longest <= 0) {
        fprintf(stderr, "ua-ref-read: %d of %d connections reported\n", reported, connections);
        return 1;
    }
    printf("requests=%lu seconds=%.3f rate=%.1f failures=%lu\n", requests, longest, requests / longest, failures);
    return 0;
}
