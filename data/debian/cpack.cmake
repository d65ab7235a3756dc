# Debian packages, one per install component (data/CMakeLists.txt), made by `cpack -G DEB` in a
# configured and built tree:
#   kivo-worker  (worker)  the batch worker, its man pages and completions
#   kivo-api     (api)     the server, the kivo user, /var/lib/kivo, kivo-api.service and
#                          /etc/kivo/kivo-api.env (a conffile)
#   libkivoN     (lib)     libkivo.so.N, N = KIVO_SOVERSION
#   libkivo-dev  (dev)     headers, libkivo.so, libkivo.a, kivo.pc
# Binary dependencies come from dpkg-shlibdeps; libkivoN ships a shlibs file and an ldconfig
# trigger (debian/ldconfig-trigger.cmake). Installed under /usr, libraries in the multiarch
# folder (data/libdir.cmake); /etc/kivo and the systemd unit go where Debian wants them
# (data/systemd/install-unit.cmake). tests/install/test_debs.sh installs and lintian-checks them.

set(KIVO_DEB_MAINTAINER "Kivo packaging <packages@kivo.example>"
    CACHE STRING "Maintainer field of the Debian packages")

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME kivo)
set(CPACK_PACKAGE_VENDOR Kivo)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL worker api lib dev)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${KIVO_DEB_MAINTAINER}")
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(KIVO_DEB_LIB libkivo${KIVO_SOVERSION})

set(CPACK_DEBIAN_WORKER_PACKAGE_NAME kivo-worker)
set(CPACK_DEBIAN_WORKER_PACKAGE_SECTION utils)
# kivo-worker loads libcurl.so.4 with dlopen() (src/worker/client.c): no NEEDED entry for
# dpkg-shlibdeps to find, so named here (libcurl4t64 from Debian 13 on).
set(CPACK_DEBIAN_WORKER_PACKAGE_DEPENDS "libcurl4 | libcurl4t64")
set(CPACK_DEBIAN_WORKER_DESCRIPTION
"checks AI answers against their source documents, in batch
kivo-worker reviews large JSONL trace corpora of AI outputs (support replies,
RAG answers, summaries) on every core: it splits each answer into claims,
finds the source span that supports each claim, names the failure categories
of the unsupported ones and gives a gate verdict (pass, needs_review, fail).
It writes detailed claim reports to local storage and sends only metadata
events (counts, hashes, verdicts) to a Kivo API server.")

set(CPACK_DEBIAN_API_PACKAGE_NAME kivo-api)
set(CPACK_DEBIAN_API_PACKAGE_SECTION net)
set(CPACK_DEBIAN_API_PACKAGE_DEPENDS adduser)
set(CPACK_DEBIAN_API_DESCRIPTION
"Kivo API server for private-worker runs and hosted review
kivo-api creates private-worker review runs with one-run credentials, stores
their metadata events (refusing raw text), and reviews hosted packets with the
same engine as kivo-worker. It keeps everything in one SQLite database and
runs as the systemd service kivo-api.service under the kivo system user.")

set(CPACK_DEBIAN_LIB_PACKAGE_NAME ${KIVO_DEB_LIB})
set(CPACK_DEBIAN_LIB_PACKAGE_SECTION libs)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_DEBIAN_LIB_DESCRIPTION
"Kivo claim engine - shared library
libkivo splits an AI answer into claims, matches each claim to the source
spans that support it, and maps the unsupported ones to failure categories
and a gate verdict. This package holds the shared library.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME libkivo-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
# The static library's dependencies are kivo.pc's Requires.private and Libs.private.
set(CPACK_DEBIAN_DEV_PACKAGE_DEPENDS
    "${KIVO_DEB_LIB} (= ${PROJECT_VERSION}), libsimdjson-dev, libjansson-dev, libxxhash-dev, libutf8proc-dev, libssl-dev, libstemmer-dev")
set(CPACK_DEBIAN_DEV_DESCRIPTION
"Kivo claim engine - development files
libkivo splits an AI answer into claims, matches each claim to the source
spans that support it, and maps the unsupported ones to failure categories
and a gate verdict. This package holds the headers, the static library and
the pkg-config file (pkg-config --cflags --libs kivo).")

# Maintainer scripts and conffiles: CPack wants them under their control-file names.
set(KIVO_DEB_CONTROL ${PROJECT_BINARY_DIR}/debian/kivo-api)
set(CPACK_DEBIAN_API_PACKAGE_CONTROL_EXTRA)
foreach(f postinst prerm postrm conffiles)
    configure_file(${CMAKE_CURRENT_SOURCE_DIR}/debian/kivo-api.${f} ${KIVO_DEB_CONTROL}/${f} COPYONLY)
    list(APPEND CPACK_DEBIAN_API_PACKAGE_CONTROL_EXTRA ${KIVO_DEB_CONTROL}/${f})
endforeach()

# /usr/share/doc/PACKAGE/{copyright,changelog.gz} in each package. EXCLUDE_FROM_ALL keeps them
# out of a plain `cmake --install`; the per-component installs of cpack take them.
string(TIMESTAMP KIVO_DEB_DATE "%a, %d %b %Y %H:%M:%S +0000" UTC)
foreach(comp worker api lib dev)
    string(TOUPPER ${comp} COMP)
    set(pkg ${CPACK_DEBIAN_${COMP}_PACKAGE_NAME})
    set(dir ${PROJECT_BINARY_DIR}/debian/doc/${pkg})
    file(WRITE ${dir}/changelog
        "${pkg} (${PROJECT_VERSION}) unstable; urgency=medium\n\n"
        "  * Built by CPack from the Kivo source tree.\n\n"
        " -- ${KIVO_DEB_MAINTAINER}  ${KIVO_DEB_DATE}\n")
    execute_process(COMMAND ${KIVO_GZIP} -9nf ${dir}/changelog RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "gzip ${dir}/changelog failed")
    endif()
    install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/debian/copyright ${dir}/changelog.gz
            DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${pkg} COMPONENT ${comp} EXCLUDE_FROM_ALL)
endforeach()

# libkivoN gets the ldconfig trigger instead of CPack's ldconfig calls.
set(CPACK_POST_BUILD_SCRIPTS ${CMAKE_CURRENT_SOURCE_DIR}/debian/ldconfig-trigger.cmake)

include(CPack)
