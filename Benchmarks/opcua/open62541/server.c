/* Reference OPC UA server for scripts/bench: open62541 (Debian's
 * libopen62541-1.4) serving N UInt16 variables ns=1;s=bench/meter/t0…t<N-1>
 * — the NodeIds, DataType and update rate of Railgate's benchmark tags — on
 * 127.0.0.1, Security None, anonymous. Every 100 ms each value is written
 * with a new source timestamp, as Railgate's poller stores its samples.
 *
 *   ua-ref-server PORT COUNT
 *
 * Ends on SIGTERM/SIGINT, or when its parent ends. */

#include <open62541/plugin/log_stdout.h>
#include <open62541/server.h>
#include <open62541/server_config_default.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile UA_Boolean running = true;
static pid_t parent;
static UA_UInt32 count;
static UA_UInt16 tick;

static void stop(int sig) {
    (void)sig;
    running = false;
}

static UA_NodeId tagId(UA_UInt32 index, char *buffer, size_t size) {
    snprintf(buffer, size, "bench/meter/t%u", index);
    return UA_NODEID_STRING(1, buffer);
}

/* The 100 ms "poll": a new value and source timestamp for every variable. */
static void poll(UA_Server *server, void *data) {
    (void)data;
    if (getppid() != parent) running = false;
    tick++;
    UA_DateTime now = UA_DateTime_now();
    char name[64];
    for (UA_UInt32 i = 0; i < count; i++) {
        UA_UInt16 value = (UA_UInt16)(i + tick);
        UA_DataValue dv;
        UA_DataValue_init(&dv);
        UA_Variant_setScalar(&dv.value, &value, &UA_TYPES[UA_TYPES_UINT16]);
        dv.hasValue = true;
        dv.sourceTimestamp = now;
        dv.hasSourceTimestamp = true;
        UA_Server_writeDataValue(server, tagId(i, name, sizeof name), dv);
    }
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: ua-ref-server PORT COUNT\n");
        return 2;
    }
    UA_UInt16 port = (UA_UInt16)atoi(argv[1]);
    count = (UA_UInt32)atoi(argv[2]);
    parent = getppid();
    signal(SIGINT, stop);
    signal(SIGTERM, stop);

    UA_ServerConfig config;
    memset(&config, 0, sizeof config);
    /* Warnings only: the log must not cost the server time. */
    config.logging = UA_Log_Stdout_new(UA_LOGLEVEL_WARNING);
    UA_ServerConfig_setMinimal(&config, port, NULL);
    UA_Server *server = UA_Server_newWithConfig(&config);
    if (!server) return 1;

    char name[64];
    for (UA_UInt32 i = 0; i < count; i++) {
        UA_VariableAttributes attr = UA_VariableAttributes_default;
        UA_UInt16 value = (UA_UInt16)i;
        UA_Variant_setScalar(&attr.value, &value, &UA_TYPES[UA_TYPES_UINT16]);
        attr.dataType = UA_TYPES[UA_TYPES_UINT16].typeId;
        attr.accessLevel = UA_ACCESSLEVELMASK_READ;
        UA_NodeId id = tagId(i, name, sizeof name);
        UA_QualifiedName browse = UA_QUALIFIEDNAME(1, name + sizeof "bench/meter/" - 1);
        attr.displayName = UA_LOCALIZEDTEXT("", name + sizeof "bench/meter/" - 1);
        UA_StatusCode status = UA_Server_addVariableNode(
            server, id, UA_NODEID_NUMERIC(0, UA_NS0ID_OBJECTSFOLDER), UA_NODEID_NUMERIC(0, UA_NS0ID_ORGANIZES),
            browse, UA_NODEID_NUMERIC(0, UA_NS0ID_BASEDATAVARIABLETYPE), attr, NULL, NULL);
        if (status != UA_STATUSCODE_GOOD) {
            fprintf(stderr, "ua-ref-server: adding %s: %s\n", name, UA_StatusCode_name(status));
            return 1;
        }
    }
    UA_Server_addRepeatedCallback(server, poll, NULL, 100, NULL);
    UA_StatusCode status = UA_Server_run(server, &running);
    UA_Server_delete(server);
    return status == UA_STATUSCODE_GOOD ? 0 : 1;
}
