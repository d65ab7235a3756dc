/* status.c - text for each kivo_status, kept beside the enum's one definition. */
#include "kivo/status.h"

const char *kivo_status_str(kivo_status st)
{
    switch (st) {
    case KIVO_OK: return "ok";
    case KIVO_ENOMEM: return "out of memory";
    case KIVO_EINVAL: return "invalid argument";
    case KIVO_EIO: return "input/output error";
    case KIVO_EJSON: return "invalid JSON";
    case KIVO_EUTF8: return "invalid UTF-8";
    case KIVO_EDEPTH: return "JSON nested too deeply";
    case KIVO_ETOOBIG: return "input too large";
    case KIVO_EDUPKEY: return "duplicate key in JSON object";
    case KIVO_ENOTFOUND: return "not found";
    case KIVO_ETYPE: return "wrong JSON type";
    case KIVO_ESCHEMA: return "schema violation";
    case KIVO_ECRYPTO: return "cryptography error";
    case KIVO_EBUSY: return "in use by another process";
    case KIVO_STATUS_COUNT: break;
    }
    return "unknown status";
}
