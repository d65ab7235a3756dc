# Runs after cpack made the packages (CPACK_POST_BUILD_SCRIPTS). CPack's DEB generator gives a
# package with a shared library postinst and postrm scripts that call ldconfig; Debian wants the
# ldconfig trigger instead (lintian: lacks-ldconfig-trigger, maintscript-calls-ldconfig). So the
# libkivoN package is unpacked, given a triggers file in place of those two scripts, and packed
# again. Nothing else in it changes.
foreach(deb IN LISTS CPACK_PACKAGE_FILES)
    get_filename_component(name "${deb}" NAME)
    if(NOT name MATCHES "^libkivo[0-9]+_.*\\.deb$")
        continue()
    endif()
    set(dir "${deb}.tree")
    file(REMOVE_RECURSE "${dir}")
    execute_process(COMMAND dpkg-deb -R "${deb}" "${dir}" RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "dpkg-deb -R ${deb} failed")
    endif()
    file(REMOVE "${dir}/DEBIAN/postinst" "${dir}/DEBIAN/postrm")
    file(WRITE "${dir}/DEBIAN/triggers" "activate-noawait ldconfig\n")
    execute_process(COMMAND dpkg-deb --root-owner-group -b "${dir}" "${deb}"
                    OUTPUT_QUIET RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        message(FATAL_ERROR "dpkg-deb -b ${deb} failed")
    endif()
    file(REMOVE_RECURSE "${dir}")
endforeach()
