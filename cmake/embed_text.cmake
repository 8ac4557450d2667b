# Writes the text of IN to OUT as one C++ raw string literal, for #include in an expression
# (src/web/dashboard_page.cc): the page is built into the binary with no escaping by hand.
#   cmake -DIN=<file> -DOUT=<file> -P embed_text.cmake
cmake_minimum_required(VERSION 3.25)
set(delimiter "harness_embed")
file(READ "${IN}" text)
string(FIND "${text}" ")${delimiter}\"" clash)
if(NOT clash EQUAL -1)
  message(FATAL_ERROR "${IN} contains )${delimiter}\", which would end the literal early")
endif()
file(WRITE "${OUT}.tmp" "R\"${delimiter}(${text})${delimiter}\"\n")
file(COPY_FILE "${OUT}.tmp" "${OUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUT}.tmp")
