# Runs at install time (components lib and dev): sets kivo_libdir, the library folder relative to
# the prefix. Prefix /usr on a multiarch system: lib/<multiarch>, as Debian wants; otherwise the
# configured CMAKE_INSTALL_LIBDIR (kivo_libdir_default). A libdir set by hand is kept.
if(CMAKE_INSTALL_PREFIX STREQUAL "/usr" AND kivo_multiarch AND kivo_libdir_default STREQUAL "lib")
    set(kivo_libdir "lib/${kivo_multiarch}")
else()
    set(kivo_libdir "${kivo_libdir_default}")
endif()
