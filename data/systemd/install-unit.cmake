# Runs at install time, from cmake_install.cmake (component api): writes kivo-api.service and
# kivo-api.env where the prefix being installed to wants them. data/CMakeLists.txt sets
# kivo_unit_src, kivo_env_src, kivo_bindir, kivo_usr_unitdir and kivo_build_dir.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
    set(kivo_etcdir "/etc")
    set(kivo_unitdir "${kivo_usr_unitdir}")
else()
    set(kivo_etcdir "${CMAKE_INSTALL_PREFIX}/etc")
    set(kivo_unitdir "${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
endif()
set(KIVO_API_BIN "${CMAKE_INSTALL_PREFIX}/${kivo_bindir}/kivo-api")
set(KIVO_API_ENV "${kivo_etcdir}/kivo/kivo-api.env")
# One scratch folder per destination: installs to different places may run at once.
string(MD5 kivo_dest "$ENV{DESTDIR}|${CMAKE_INSTALL_PREFIX}")
configure_file("${kivo_unit_src}" "${kivo_build_dir}/install-${kivo_dest}/kivo-api.service" @ONLY)
file(INSTALL DESTINATION "${kivo_unitdir}" TYPE FILE
     FILES "${kivo_build_dir}/install-${kivo_dest}/kivo-api.service")
file(REMOVE_RECURSE "${kivo_build_dir}/install-${kivo_dest}")
file(INSTALL DESTINATION "${kivo_etcdir}/kivo" TYPE FILE FILES "${kivo_env_src}")
