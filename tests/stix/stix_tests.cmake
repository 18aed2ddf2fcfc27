# Exported STIX 2.1 bundles against the OASIS STIX 2.1 JSON schemas
# (python3-jsonschema; skipped, code 77, without it). The sample in docs/ is
# byte for byte what the exporter writes (policies_test checks that); the
# broken bundle must fail, so the validator is seen to reject.
set(TOSGATE_STIX_SCHEMAS "${PROJECT_SOURCE_DIR}/../shared/reference/stix2-json-schemas/schemas"
    CACHE PATH "schemas/ of oasis-open/cti-stix2-json-schemas")
if(TOSGATE_PYTHON3 AND EXISTS "${TOSGATE_STIX_SCHEMAS}/common/bundle.json")
  add_test(NAME stix_schema_test COMMAND ${TOSGATE_PYTHON3} ${CMAKE_CURRENT_LIST_DIR}/validate_stix.py
           ${TOSGATE_STIX_SCHEMAS} ${PROJECT_SOURCE_DIR}/docs/indicators-sample.json)
  add_test(NAME stix_schema_rejects_test COMMAND ${TOSGATE_PYTHON3}
           ${CMAKE_CURRENT_LIST_DIR}/validate_stix.py ${TOSGATE_STIX_SCHEMAS}
           ${CMAKE_CURRENT_LIST_DIR}/broken-bundle.json)
  set_tests_properties(stix_schema_test PROPERTIES SKIP_RETURN_CODE 77)
  set_tests_properties(stix_schema_rejects_test PROPERTIES WILL_FAIL TRUE)
endif()
