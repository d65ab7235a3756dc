# Runs at install time (component dev, after libdir.cmake): writes kivo.pc for the libdir in use
# and installs it into <libdir>/pkgconfig. Its prefix is relative to the file's own place
# (${pcfiledir}), so the file stays right under DESTDIR staging and after moving the tree.
if(IS_ABSOLUTE "${kivo_libdir}" OR IS_ABSOLUTE "${kivo_includedir}")
    set(KIVO_PC_PREFIX "${CMAKE_INSTALL_PREFIX}")
    get_filename_component(KIVO_PC_LIBDIR "${kivo_libdir}" ABSOLUTE BASE_DIR "${CMAKE_INSTALL_PREFIX}")
    get_filename_component(KIVO_PC_INCLUDEDIR "${kivo_includedir}" ABSOLUTE
                           BASE_DIR "${CMAKE_INSTALL_PREFIX}")
else()
    file(RELATIVE_PATH up "/p/${kivo_libdir}/pkgconfig" "/p")
    string(REGEX REPLACE "/$" "" up "${up}")
    set(KIVO_PC_PREFIX "\${pcfiledir}/${up}")
    set(KIVO_PC_LIBDIR "\${prefix}/${kivo_libdir}")
    set(KIVO_PC_INCLUDEDIR "\${prefix}/${kivo_includedir}")
endif()
# One scratch folder per destination: installs to different places may run at once.
string(MD5 kivo_dest "$ENV{DESTDIR}|${CMAKE_INSTALL_PREFIX}")
configure_file("${kivo_pc_in}" "${kivo_build_dir}/install-${kivo_dest}/kivo.pc" @ONLY)
file(INSTALL DESTINATION "${CMAKE_INSTALL_PREFIX}/${kivo_libdir}/pkgconfig" TYPE FILE
     FILES "${kivo_build_dir}/install-${kivo_dest}/kivo.pc")
file(REMOVE_RECURSE "${kivo_build_dir}/install-${kivo_dest}")
