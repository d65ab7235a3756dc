/* scopes.h - the four API key scopes of api.md, as a bit mask and as their stored text. */
#ifndef KIVO_API_SCOPES_H
#define KIVO_API_SCOPES_H

#include <stddef.h>

#define API_SCOPE_REVIEW_WRITE 1u /* review_runs:write */
#define API_SCOPE_REVIEW_READ 2u  /* review_runs:read */
#define API_SCOPE_PW_WRITE 4u     /* private_worker:write */
#define API_SCOPE_PW_READ 8u      /* private_worker:read */
#define API_SCOPES_TEXT_MAX 96

/* Parses a comma-separated list ("review_runs:read,private_worker:write"); spaces around names
 * are ignored, repeats are allowed. @return 0 and *mask (never 0), or -1 naming nothing valid or
 * containing an unknown scope. */
int api_scopes_parse(const char *s, unsigned *mask);

/* The first name of such a list that is not a scope (an empty name between commas counts), for
 * an error message: *name points into s, *len is its length. @return 1 when there is one. */
int api_scopes_unknown(const char *s, const char **name, size_t *len);

/* The canonical text of a mask: known scopes in table order, comma-separated. */
void api_scopes_format(unsigned mask, char out[API_SCOPES_TEXT_MAX]);

/* The name of a single scope bit ("private_worker:read"). */
const char *api_scope_name(unsigned bit);

#endif
