# gradcore as a library (docs/API.md):
#   cmake --install build --prefix P
# installs the headers under P/include/gradcore (included as "engine/tensor.h",
# as inside this tree), the static libraries under P/lib, the CMake package
#   find_package(gradcore CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE gradcore::layers)
# (every gc_<name> library below is imported as gradcore::<name>, with its
# dependencies) and P/lib/pkgconfig/gradcore.pc. The CLI, the server and the
# tests are not installed.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(GRADCORE_INCLUDE_DIR ${CMAKE_INSTALL_INCLUDEDIR}/gradcore)
set(GRADCORE_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/gradcore)

# Users before what they use: the order a static link (gradcore.pc) needs.
set(GRADCORE_LIBRARIES gc_onnx gc_infer gc_model_store gc_model_signing gc_layers gc_serialize gc_engine)
if(TARGET gc_cuda_gpu)
  list(APPEND GRADCORE_LIBRARIES gc_cuda_gpu)
endif()
list(APPEND GRADCORE_LIBRARIES gc_cuda_emu gc_cuda_emu_runtime gc_kernels_cpu)

set(pc_libs)
foreach(target IN LISTS GRADCORE_LIBRARIES)
  string(REGEX REPLACE "^gc_" "" name ${target})
  set_target_properties(${target} PROPERTIES EXPORT_NAME ${name})
  # The headers are C++20; whoever includes them needs it too.
  target_compile_features(${target} INTERFACE cxx_std_20)
  string(APPEND pc_libs " -l${target}")
endforeach()

install(TARGETS ${GRADCORE_LIBRARIES} EXPORT gradcoreTargets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        INCLUDES DESTINATION ${GRADCORE_INCLUDE_DIR})
install(EXPORT gradcoreTargets NAMESPACE gradcore:: DESTINATION ${GRADCORE_CMAKE_DIR})

# Every header of those libraries (the public ones, docs/API.md, include the
# rest), but of the CUDA backend only its kernel table: its other headers
# are for .cu files.
foreach(dir engine layers serialize infer kernels/cpu)
  get_filename_component(parent ${dir} DIRECTORY)
  install(DIRECTORY ${PROJECT_SOURCE_DIR}/${dir} DESTINATION ${GRADCORE_INCLUDE_DIR}/${parent}
          FILES_MATCHING PATTERN "*.h")
endforeach()
install(FILES ${PROJECT_SOURCE_DIR}/kernels/cuda/ops.h DESTINATION ${GRADCORE_INCLUDE_DIR}/kernels/cuda)

# `--kernels vendor` dlopens this module: the build tree's copy, or the one
# $GRADCORE_CUDA_VENDOR_MODULE names (such as the installed one).
if(TARGET gc_cuda_vendor_module)
  install(TARGETS gc_cuda_vendor_module LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}/gradcore)
endif()

# ---- the CMake package ---------------------------------------------------------
if(TARGET gc_cuda_gpu)
  set(GRADCORE_WITH_CUDA_GPU ON)
else()
  set(GRADCORE_WITH_CUDA_GPU OFF)
endif()
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/gradcoreConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/gradcoreConfig.cmake
                              INSTALL_DESTINATION ${GRADCORE_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/gradcoreConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/gradcoreConfig.cmake ${PROJECT_BINARY_DIR}/gradcoreConfigVersion.cmake
        DESTINATION ${GRADCORE_CMAKE_DIR})

# ---- pkg-config ------------------------------------------------------------------
# The prefix is found from the .pc file's own place, so --prefix at install
# time (not CMAKE_INSTALL_PREFIX at configure time) decides it.
string(APPEND pc_libs " -lonnx -lonnx_proto -lprotobuf -lsodium -lboost_context ${OpenMP_CXX_FLAGS} -pthread -l${CMAKE_DL_LIBS}")
if(TARGET gc_cuda_gpu)
  string(APPEND pc_libs " -L${CUDAToolkit_LIBRARY_DIR} -lcudart")
endif()
file(RELATIVE_PATH pc_prefix ${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_LIBDIR}/pkgconfig ${CMAKE_INSTALL_PREFIX})
set(GRADCORE_PC_PREFIX "\${pcfiledir}/${pc_prefix}")
set(GRADCORE_PC_LIBS "${pc_libs}")
configure_file(${PROJECT_SOURCE_DIR}/cmake/gradcore.pc.in ${PROJECT_BINARY_DIR}/gradcore.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/gradcore.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
