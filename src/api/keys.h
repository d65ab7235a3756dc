/* keys.h - `kivo-api keys create|list|revoke`: project API keys, managed on the database file. */
#ifndef KIVO_API_KEYS_H
#define KIVO_API_KEYS_H

/* Runs `keys ...` with argv[0] == "keys". @return an API_EXIT_* code. */
int api_keys_main(int argc, char **argv);

#endif
