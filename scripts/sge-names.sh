# Names of the test Grid Engine for DIR, shared by scripts/sge-up.sh and
# scripts/sge-down.sh (sourced with DIR set): a network namespace, a veth
# pair, a private /30 inside 10.213.0.0/16 and two host names, all derived
# from DIR so two instances never share them.
SGE_ID=$(printf '%s' "$DIR" | cksum | cut -d' ' -f1)
SGE_N=$((SGE_ID % 16000))
SGE_NS="tide-sge-$SGE_N"
SGE_VETH_ROOT="tsge${SGE_N}r"
SGE_VETH_NS="tsge${SGE_N}n"
SGE_ADDR_ROOT="10.213.$((SGE_N / 64)).$((SGE_N % 64 * 4 + 1))"
SGE_ADDR_NS="10.213.$((SGE_N / 64)).$((SGE_N % 64 * 4 + 2))"
SGE_MASTER="tide-sge-$SGE_N"
SGE_CLIENT="tide-sge-$SGE_N-c"
SGE_HOSTS_MARK="# tide-sge $DIR"
