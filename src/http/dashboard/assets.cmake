# Dashboard assets (included from the top CMakeLists.txt): uPlot comes from
# the npm registry, pinned by package-lock.json. node_modules is used where a
# developer ran `npm ci` in src/http/dashboard; otherwise `npm ci` runs once
# into the build dir at configure time. The files are embedded into
# libtide (the tide_objs object library) as a generated C source.
set(TIDE_DASH_DIR ${CMAKE_SOURCE_DIR}/src/http/dashboard)
set(TIDE_UPLOT_REL node_modules/uplot/dist)
set(TIDE_UPLOT_DIR "")
if(EXISTS ${TIDE_DASH_DIR}/${TIDE_UPLOT_REL}/uPlot.iife.min.js)
  set(TIDE_UPLOT_DIR ${TIDE_DASH_DIR}/${TIDE_UPLOT_REL})
else()
  set(_npmdir ${CMAKE_BINARY_DIR}/dashboard-npm)
  if(NOT EXISTS ${_npmdir}/${TIDE_UPLOT_REL}/uPlot.iife.min.js)
    find_program(TIDE_NPM npm)
    if(TIDE_NPM)
      file(COPY ${TIDE_DASH_DIR}/package.json ${TIDE_DASH_DIR}/package-lock.json
           DESTINATION ${_npmdir})
      message(STATUS "dashboard: npm ci (uPlot) in ${_npmdir}")
      execute_process(COMMAND ${TIDE_NPM} ci --no-audit --no-fund --loglevel=error
                      WORKING_DIRECTORY ${_npmdir} RESULT_VARIABLE _npmrc
                      OUTPUT_QUIET TIMEOUT 300)
      if(NOT _npmrc EQUAL 0)
        message(WARNING "dashboard: npm ci failed (${_npmrc}); charts will be unavailable")
      endif()
    else()
      message(WARNING "dashboard: npm not found; charts will be unavailable "
                      "(install nodejs/npm and reconfigure)")
    endif()
  endif()
  if(EXISTS ${_npmdir}/${TIDE_UPLOT_REL}/uPlot.iife.min.js)
    set(TIDE_UPLOT_DIR ${_npmdir}/${TIDE_UPLOT_REL})
  endif()
endif()

set(_assets_c ${CMAKE_BINARY_DIR}/generated/dashboard_assets.c)
set(_dash_files ${TIDE_DASH_DIR}/index.html ${TIDE_DASH_DIR}/app.js ${TIDE_DASH_DIR}/style.css)
set(_uplot_js "")
set(_uplot_css "")
if(TIDE_UPLOT_DIR)
  set(_uplot_js ${TIDE_UPLOT_DIR}/uPlot.iife.min.js)
  set(_uplot_css ${TIDE_UPLOT_DIR}/uPlot.min.css)
  list(APPEND _dash_files ${_uplot_js} ${_uplot_css})
endif()
add_custom_command(
  OUTPUT ${_assets_c}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/generated
  COMMAND ${CMAKE_COMMAND} -DOUT=${_assets_c} -DINDEX=${TIDE_DASH_DIR}/index.html
          -DAPPJS=${TIDE_DASH_DIR}/app.js -DCSS=${TIDE_DASH_DIR}/style.css
          -DUPLOTJS=${_uplot_js} -DUPLOTCSS=${_uplot_css}
          -P ${TIDE_DASH_DIR}/embed.cmake
  DEPENDS ${_dash_files} ${TIDE_DASH_DIR}/embed.cmake
  COMMENT "Embedding the dashboard assets"
  VERBATIM)
foreach(_t tide_objs)
  if(TARGET ${_t})
    target_sources(${_t} PRIVATE ${_assets_c})
  endif()
endforeach()
# One owner for the generated file so parallel builds do not race on it.
add_custom_target(tide_dashboard_assets DEPENDS ${_assets_c})
foreach(_t tide_objs)
  if(TARGET ${_t})
    add_dependencies(${_t} tide_dashboard_assets)
  endif()
endforeach()
