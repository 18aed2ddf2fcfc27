# Installation and the Debian packages (docs/install.md), included by the
# top-level CMakeLists.txt. `cmake --build build --target package` (or, once
# the targets below are built, `cpack --config build/CPackConfig.cmake`)
# writes three .deb files into the build directory:
#
#   tosgate       /usr/bin/tosgate (the built-in packs are inside it), the
#                 systemd unit, /etc/tosgate/config.yaml and the starter
#                 policy set in /etc/tosgate/policies/ (conffiles), the man
#                 page, the `tosgate` system user (postinst)
#   libtosgate0   libtosgate.so.0, the C API (docs/embedding.md)
#   tosgate-dev   the header, the libtosgate.so link and tosgate.pc
#
# The library is in a package of its own, as Debian's policy wants a shared
# library (8.1): a program linked against it depends on libtosgate0, not on
# the headers. Dependencies on other packages are read from the shared
# libraries actually linked (dpkg-shlibdeps), never written by hand.
include(GNUInstallDirs)

set(TOSGATE_PKG_DIR ${PROJECT_SOURCE_DIR}/packaging)
set(TOSGATE_PKG_OUT ${CMAKE_BINARY_DIR}/packaging)
if(CMAKE_LIBRARY_ARCHITECTURE)
  set(TOSGATE_LIBDIR lib/${CMAKE_LIBRARY_ARCHITECTURE})  # Debian's multiarch path
else()
  set(TOSGATE_LIBDIR ${CMAKE_INSTALL_LIBDIR})
endif()

# The starter policy set is what `tosgate init` writes, so the package can
# never ship a different one from the command's.
add_custom_command(
  OUTPUT ${TOSGATE_PKG_OUT}/policies/policy.yaml ${TOSGATE_PKG_OUT}/policies/policy.test.yaml
         ${TOSGATE_PKG_OUT}/policies/schema.json
  COMMAND ${CMAKE_COMMAND} -E rm -rf ${TOSGATE_PKG_OUT}/policies
  COMMAND $<TARGET_FILE:tosgate> init ${TOSGATE_PKG_OUT}/policies > /dev/null
  DEPENDS tosgate
  COMMENT "Starter policy set for /etc/tosgate/policies (tosgate init)")
# The man page from the command's own --help texts (packaging/manpage.sh).
add_custom_command(
  OUTPUT ${TOSGATE_PKG_OUT}/tosgate.1.gz
  COMMAND ${TOSGATE_PKG_DIR}/manpage.sh $<TARGET_FILE:tosgate> ${PROJECT_VERSION} ${TOSGATE_PKG_OUT}/tosgate.1
  COMMAND gzip -9nf ${TOSGATE_PKG_OUT}/tosgate.1
  DEPENDS tosgate ${TOSGATE_PKG_DIR}/manpage.sh
  COMMENT "Man page tosgate(1) from tosgate's help")
# Debian wants the changelog of each package compressed (native: changelog.gz).
add_custom_command(
  OUTPUT ${TOSGATE_PKG_OUT}/changelog.gz
  COMMAND gzip -9nc ${TOSGATE_PKG_DIR}/debian/changelog > ${TOSGATE_PKG_OUT}/changelog.gz
  DEPENDS ${TOSGATE_PKG_DIR}/debian/changelog)
configure_file(${TOSGATE_PKG_DIR}/tosgate.pc.in ${TOSGATE_PKG_OUT}/tosgate.pc @ONLY)
add_custom_target(tosgate_package_files ALL DEPENDS
  ${TOSGATE_PKG_OUT}/policies/policy.yaml ${TOSGATE_PKG_OUT}/tosgate.1.gz ${TOSGATE_PKG_OUT}/changelog.gz)

# --- tosgate ---------------------------------------------------------------
install(TARGETS tosgate RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT server)
install(FILES ${TOSGATE_PKG_DIR}/config.yaml DESTINATION /etc/tosgate COMPONENT server)
install(FILES ${TOSGATE_PKG_OUT}/policies/policy.yaml ${TOSGATE_PKG_OUT}/policies/policy.test.yaml
              ${TOSGATE_PKG_OUT}/policies/schema.json
        DESTINATION /etc/tosgate/policies COMPONENT server)
install(FILES ${TOSGATE_PKG_DIR}/tosgate.service DESTINATION /lib/systemd/system COMPONENT server)
install(FILES ${TOSGATE_PKG_OUT}/tosgate.1.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT server)
# The packs' sources and the pages an operator needs, beside the package's
# copyright and changelog.
install(DIRECTORY ${PROJECT_SOURCE_DIR}/policies/packs/ DESTINATION ${CMAKE_INSTALL_DATADIR}/tosgate/packs
        COMPONENT server FILES_MATCHING PATTERN "*.yaml" PATTERN "*.txt")
foreach(pkg tosgate libtosgate0 tosgate-dev)
  if(pkg STREQUAL "tosgate")
    set(comp server)
  elseif(pkg STREQUAL "libtosgate0")
    set(comp lib)
  else()
    set(comp dev)
  endif()
  install(FILES ${TOSGATE_PKG_DIR}/debian/copyright ${TOSGATE_PKG_OUT}/changelog.gz
          DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/${pkg} COMPONENT ${comp})
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/docs/install.md DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/tosgate
        COMPONENT server OPTIONAL)

# --- libtosgate0 and tosgate-dev ------------------------------------------
install(TARGETS tosgate_shared
        LIBRARY DESTINATION ${TOSGATE_LIBDIR} COMPONENT lib NAMELINK_SKIP)
install(TARGETS tosgate_shared
        LIBRARY DESTINATION ${TOSGATE_LIBDIR} COMPONENT dev NAMELINK_ONLY)
install(FILES ${PROJECT_SOURCE_DIR}/include/tosgate/tosgate.h DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/tosgate
        COMPONENT dev)
install(FILES ${TOSGATE_PKG_OUT}/tosgate.pc DESTINATION ${TOSGATE_LIBDIR}/pkgconfig COMPONENT dev)

# --- CPack -----------------------------------------------------------------
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tosgate)
set(CPACK_PACKAGE_VENDOR "tosgate")
set(CPACK_PACKAGE_CONTACT "tosgate maintainers <maintainers@tosgate.dev>")
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)
set(CPACK_PACKAGE_DIRECTORY ${CMAKE_BINARY_DIR}/packages)
set(CPACK_COMPONENTS_ALL server lib dev)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)  # name_version_arch.deb
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://tosgate.dev")
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_ENABLE_COMPONENT_DEPENDS ON)

set(CPACK_DEBIAN_SERVER_PACKAGE_NAME tosgate)
set(CPACK_DEBIAN_SERVER_PACKAGE_SECTION net)
set(CPACK_DEBIAN_SERVER_PACKAGE_DEPENDS "adduser")
# Descriptions: the summary, then the long text; CPack indents it.
set(CPACK_DEBIAN_SERVER_DESCRIPTION "terms-of-service enforcement gateway for AI APIs
tosgate evaluates declarative YAML policies on every API request (rate
caps, token budgets, prohibited-use content rules, competitor-training
detection), decides allow, deny or throttle, and records each decision in a
tamper-evident audit store. It answers a reverse proxy's forward-auth
check or runs as the proxy itself. This package holds the gateway, its
systemd service and a starter configuration.")
set(CPACK_DEBIAN_SERVER_PACKAGE_CONTROL_EXTRA
  ${TOSGATE_PKG_DIR}/debian/conffiles ${TOSGATE_PKG_DIR}/debian/postinst
  ${TOSGATE_PKG_DIR}/debian/prerm ${TOSGATE_PKG_DIR}/debian/postrm)
set(CPACK_DEBIAN_SERVER_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_DEBIAN_LIB_PACKAGE_NAME libtosgate0)
set(CPACK_DEBIAN_LIB_PACKAGE_SECTION libs)
# The shlibs file (CPack writes it for every package holding a shared
# library: libtosgate0 only), and the ldconfig trigger Debian asks for.
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS_POLICY ">=")
set(CPACK_DEBIAN_LIB_PACKAGE_CONTROL_EXTRA ${TOSGATE_PKG_DIR}/debian/lib/triggers)
set(CPACK_DEBIAN_LIB_DESCRIPTION "terms-of-service enforcement gateway for AI APIs - C library
libtosgate decides API requests against tosgate policy sets from inside a
program, through a C API, with the same engine and audit store as the
gateway. This package holds the shared library.")

set(CPACK_DEBIAN_DEV_PACKAGE_NAME tosgate-dev)
set(CPACK_DEBIAN_DEV_PACKAGE_SECTION libdevel)
set(CPACK_COMPONENT_DEV_DEPENDS lib)
set(CPACK_DEBIAN_DEV_DESCRIPTION "terms-of-service enforcement gateway for AI APIs - development files
libtosgate decides API requests against tosgate policy sets from inside a
program, through a C API. This package holds the header, the link for
the linker and the pkg-config file (pkg-config --cflags --libs tosgate).")
include(CPack)
