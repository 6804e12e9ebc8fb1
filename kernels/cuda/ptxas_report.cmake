# Build-time input of the static kernel report (`gradcore kernels`): the
# ptxas -v resource usage and the PTX of one .cu, compiled for sm_90.
# cmake -DNVCC=... -DSOURCE=x.cu -DOUT=<dir>/x -DINCLUDE=<repo> -P ptxas_report.cmake
foreach(var NVCC SOURCE OUT INCLUDE)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "ptxas_report.cmake: -D${var}= is required")
  endif()
endforeach()
get_filename_component(dir ${OUT} DIRECTORY)
file(MAKE_DIRECTORY ${dir})
set(common -std=c++17 -arch=sm_90 -I${INCLUDE})
execute_process(COMMAND ${NVCC} ${common} -cubin -Xptxas -v -o ${OUT}.cubin ${SOURCE}
                RESULT_VARIABLE status ERROR_VARIABLE ptxas OUTPUT_VARIABLE ignored)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "nvcc -cubin failed for ${SOURCE}:\n${ptxas}")
endif()
file(WRITE ${OUT}.ptxas.txt "${ptxas}")
execute_process(COMMAND ${NVCC} ${common} -ptx -o ${OUT}.ptx ${SOURCE} RESULT_VARIABLE status ERROR_VARIABLE errors)
if(NOT status EQUAL 0)
  message(FATAL_ERROR "nvcc -ptx failed for ${SOURCE}:\n${errors}")
endif()
file(REMOVE ${OUT}.cubin)
