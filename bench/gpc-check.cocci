// The Coccinelle side of `npm run bench`: every gpc check call, in either
// API era (6.9+: kvm_gpc_check(gpc, len); 6.1: kvm_gfn_to_pfn_cache_check(kvm,
// gpc, gpa, len)). `*` marks the match; spatch prints each as a diff hunk.
@@
expression list args;
@@
(
* kvm_gpc_check(args)
|
* kvm_gfn_to_pfn_cache_check(args)
)
