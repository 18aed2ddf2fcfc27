// Compiles a `when:` tree of an attribute rule into an engine::Condition.
//
//   {all: [c, ...]}  {any: [c, ...]}  {not: c}
//   {field: NAME, OP: OPERAND}   OP is one of eq, in, gt, lt, exists, cidr
//
// The field decides the literal's type: number fields take numbers, boolean
// fields take true/false, text fields take any scalar as its text. gt and lt
// need a number field; cidr needs request.client_ip or a request header.
#pragma once

#include "engine/condition.h"
#include "policies/context.h"

namespace tosgate::policies {

// Returns false, having reported every error, when the tree has any.
bool CompileCondition(Context& ctx, const Field& when, engine::Condition* out);

}  // namespace tosgate::policies
