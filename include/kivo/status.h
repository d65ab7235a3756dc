/*
 * status.h - the one error type of libkivo.
 *
 * Every fallible libkivo function returns a kivo_status and hands its results back through
 * out-parameters. KIVO_OK is 0, so `if (st != KIVO_OK) goto out;` reads naturally. Where a caller
 * needs detail (which field, which line), the handle that failed keeps a message.
 */
#ifndef KIVO_STATUS_H
#define KIVO_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum kivo_status {
    KIVO_OK = 0,
    KIVO_ENOMEM,    /* allocation failed */
    KIVO_EINVAL,    /* invalid argument from the caller */
    KIVO_EIO,       /* read, write, rename or mmap failed; errno has the cause */
    KIVO_EJSON,     /* input is not valid JSON */
    KIVO_EUTF8,     /* input is not valid UTF-8 */
    KIVO_EDEPTH,    /* JSON nested deeper than allowed */
    KIVO_ETOOBIG,   /* input over a configured ceiling */
    KIVO_EDUPKEY,   /* the same key twice in one JSON object */
    KIVO_ENOTFOUND, /* a JSON Pointer or a key names nothing */
    KIVO_ETYPE,     /* a value has the wrong JSON type */
    KIVO_ESCHEMA,   /* a document breaks its schema (message names the field) */
    KIVO_ECRYPTO,   /* OpenSSL failed */
    KIVO_EBUSY,     /* a folder or file is in use by another process */
    KIVO_STATUS_COUNT
} kivo_status;

/* Returns a short, static, lowercase description of `st` ("out of memory"). Never NULL. */
const char *kivo_status_str(kivo_status st);

#ifdef __cplusplus
}
#endif
#endif
