# lh_module_headers(TARGET MODULE HEADER...)
#
# Publishes a module's public headers, and only those, to the modules that
# link it (DESIGN.md §1, src/README.md). Each module gets its own include
# root, build/include/<module>/, holding <module>/<header> as a link to the
# header in src/<module>/. The root is a PUBLIC include directory of TARGET,
# so a module sees exactly the public headers of what it links: an include
# against the grain, or of another module's *_int.h, fails to compile.
# Private headers stay reachable only from their own folder ("x_int.h"),
# and from the module's white-box tests, which add src/<module> themselves.
function(lh_module_headers target module)
  set(root ${CMAKE_BINARY_DIR}/include/${module})
  file(MAKE_DIRECTORY ${root}/${module})
  foreach(h ${ARGN})
    file(CREATE_LINK ${CMAKE_SOURCE_DIR}/src/${module}/${h} ${root}/${module}/${h} SYMBOLIC)
  endforeach()
  target_include_directories(${target} PUBLIC ${root})
endfunction()
