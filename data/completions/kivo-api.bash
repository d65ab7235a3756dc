# bash completion for kivo-api                                    -*- shell-script -*-
# Installed as share/bash-completion/completions/kivo-api (loaded on first use). The option lists
# follow `kivo-api COMMAND --help`; tests/install/test_completions.py keeps them in step.

_kivo_api()
{
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} cmd=${COMP_WORDS[1]}
    local scopes="review_runs:write review_runs:read private_worker:write private_worker:read"
    local opts

    if [[ $cur == --*=* ]]; then
        prev=${cur%%=*}
        cur=${cur#*=}
    fi
    COMPREPLY=()
    # Scope names hold ':', which bash splits words at: read the word from the line itself.
    local line=${COMP_LINE:0:COMP_POINT}
    local word=${line##*[[:space:]]} before=${line%[[:space:]]*}
    if [[ ${before##*[[:space:]]} == --scopes || $word == --scopes=* ]]; then
        word=${word#--scopes=}
        local done=${word%"${word##*,}"} colon=${word%"${word##*:}"}
        mapfile -t COMPREPLY < <(compgen -P "$done" -W "$scopes" -- "${word##*,}")
        # Readline replaces only what follows the last ':' of the word.
        COMPREPLY=("${COMPREPLY[@]#"$colon"}")
        compopt -o nospace 2>/dev/null
        return
    fi
    if ((COMP_CWORD == 1)); then
        mapfile -t COMPREPLY < <(compgen -W "serve keys migrate -h --help -V --version" -- "$cur")
        return
    fi
    case $prev in
        --db)
            compopt -o filenames 2>/dev/null
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            return
            ;;
        --sync)
            mapfile -t COMPREPLY < <(compgen -W "normal full" -- "$cur")
            return
            ;;
        --log-format)
            mapfile -t COMPREPLY < <(compgen -W "json text" -- "$cur")
            return
            ;;
        --listen | --threads | --credential-ttl | --max-worker-body | --max-hosted-body | \
            --rate-limit | --rate-burst | --shutdown-grace | --project | --prefix | \
            --max-connections | --max-connections-per-ip | --header-timeout | \
            --hosted-threads | --hosted-queue | --max-body-memory | --max-claims | \
            --max-report-bytes)
            return
            ;;
    esac
    case $cmd in
        serve)
            opts="--listen --db --create --threads --credential-ttl --max-worker-body
                  --max-hosted-body --hosted-threads --hosted-queue --max-body-memory
                  --max-claims --max-report-bytes --rate-limit --rate-burst --sync
                  --shutdown-grace --max-connections --max-connections-per-ip --header-timeout
                  --quiet --log-format --help"
            ;;
        keys)
            if ((COMP_CWORD == 2)); then
                mapfile -t COMPREPLY < <(compgen -W "create list revoke --help" -- "$cur")
                return
            fi
            case ${COMP_WORDS[2]} in
                create) opts="--db --create --project --scopes --help" ;;
                list) opts="--db --help" ;;
                revoke) opts="--db --prefix --help" ;;
                *) return ;;
            esac
            ;;
        migrate)
            opts="--db --create --help"
            ;;
        *)
            return
            ;;
    esac
    if [[ $cur == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$opts" -- "$cur")
    fi
}
complete -F _kivo_api kivo-api
