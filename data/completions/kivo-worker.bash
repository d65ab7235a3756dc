# bash completion for kivo-worker                                 -*- shell-script -*-
# Installed as share/bash-completion/completions/kivo-worker (loaded on first use). The option
# lists follow `kivo-worker COMMAND --help`; tests/install/test_completions.py keeps them in step.

_kivo_worker()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd=${COMP_WORDS[1]}
    local send="--kivo-api-base-url --api-key-file --concurrency --retry-deadline --request-timeout"
    local opts

    # --option=value: complete the value.
    if [[ $cur == --*=* ]]; then
        prev=${cur%%=*}
        cur=${cur#*=}
    fi
    COMPREPLY=()
    if ((COMP_CWORD == 1)); then
        mapfile -t COMPREPLY < <(compgen -W "batch run submit compare explain show merge -h --help -V --version" -- "$cur")
        return
    fi
    case $prev in
        -f | --job-spec-file | --api-key-file | --worker-credential-file | --junit | \
            --metrics-file)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            return
            ;;
        -o | --out | --outbox)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -d -- "$cur")
            return
            ;;
        --layout)
            mapfile -t COMPREPLY < <(compgen -W "v2 per-run" -- "$cur")
            return
            ;;
        --compress)
            mapfile -t COMPREPLY < <(compgen -W "none zstd" -- "$cur")
            return
            ;;
        --html)
            if [[ $cmd == compare || $cmd == show ]]; then
                compopt -o filenames 2>/dev/null
                mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            else
                mapfile -t COMPREPLY < <(compgen -W "flagged all none" -- "$cur")
            fi
            return
            ;;
        --job-token)
            mapfile -t COMPREPLY < <(compgen -W "local" -- "$cur")
            return
            ;;
        -t | --threads | --chunk-bytes | --concurrency | --retry-deadline | --request-timeout | \
            --kivo-api-base-url | --review-run-id | --worker-credential | -r | --run-id | \
            --group-by | --fail-on | --batch-id | --progress-interval | --part-size | -w | \
            --workflow-id | --shard)
            return
            ;;
    esac
    case $cmd in
        batch)
            opts="-f --job-spec-file -o --out -t --threads -j --json -q --quiet -v --verbose
                  --progress-interval --metrics-file --chunk-bytes --html --batch-id --layout
                  --part-size --compress --overwrite --shard --group-by --fail-on --junit
                  --github-summary -h --help $send"
            ;;
        run)
            opts="--job-token -f --job-spec-file --kivo-api-base-url --review-run-id
                  --worker-credential-file --worker-credential --outbox --batch-id -j --json
                  --retry-deadline --request-timeout -h --help"
            ;;
        submit)
            opts="--outbox --worker-credential-file --review-run-id -j --json -q --quiet
                  -h --help $send"
            ;;
        compare)
            opts="-j --json --html --group-by --fail-on --junit --github-summary -q --quiet
                  -h --help"
            # BASE_DIR and CAND_DIR: report folders.
            if [[ $cur != -* ]]; then
                compopt -o filenames 2>/dev/null
                mapfile -t COMPREPLY < <(compgen -d -- "$cur")
                return
            fi
            ;;
        explain)
            opts="-f --job-spec-file -r --run-id -j --json -h --help"
            ;;
        show)
            opts="-o --out -w --workflow-id --html -h --help"
            ;;
        merge)
            opts="-o --out --overwrite -j --json -q --quiet -h --help"
            # SHARD_DIR...: the shards' out folders.
            if [[ $cur != -* ]]; then
                compopt -o filenames 2>/dev/null
                mapfile -t COMPREPLY < <(compgen -d -- "$cur")
                return
            fi
            ;;
        *)
            return
            ;;
    esac
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
    fi
}
complete -F _kivo_worker kivo-worker
