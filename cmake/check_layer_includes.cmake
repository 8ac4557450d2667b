# Fails when a file in src/<layer>/ includes a header of a layer it may not use.
#   cmake -DLAYERS="core= store=core ..." -DSOURCE_DIR=<repo>/src -P check_layer_includes.cmake
# LAYERS is the table CMakeLists.txt builds the layer libraries from: each layer, then the
# layers it may use. Headers outside these layers (tests/testing/, system headers) are not
# checked.
cmake_minimum_required(VERSION 3.25)
string(STRIP "${LAYERS}" LAYERS)
separate_arguments(LAYERS)
set(names)
foreach(entry IN LISTS LAYERS)
  string(REGEX MATCH "^[^=]*" name "${entry}")
  list(APPEND names ${name})
endforeach()

set(violations)
foreach(entry IN LISTS LAYERS)
  string(REGEX MATCH "^[^=]*" layer "${entry}")
  string(REGEX REPLACE "^[^=]*=" "" uses "${entry}")
  string(REPLACE "," ";" allowed "${uses}")
  list(APPEND allowed ${layer})
  file(GLOB files ${SOURCE_DIR}/${layer}/*.h ${SOURCE_DIR}/${layer}/*.cc)
  foreach(file IN LISTS files)
    file(STRINGS ${file} includes REGEX "^#include \"[a-z_]+/")
    foreach(line IN LISTS includes)
      string(REGEX REPLACE "^#include \"([a-z_]+)/.*" "\\1" used "${line}")
      if(used IN_LIST names AND NOT used IN_LIST allowed)
        file(RELATIVE_PATH shown ${SOURCE_DIR} ${file})
        list(APPEND violations "src/${shown}: ${line} (${layer} may use: ${uses})")
      endif()
    endforeach()
  endforeach()
endforeach()

if(violations)
  list(JOIN violations "\n  " text)
  message(FATAL_ERROR "includes across the layering:\n  ${text}")
endif()
list(LENGTH names count)
message(STATUS "every #include follows the layering of ${count} layers")
