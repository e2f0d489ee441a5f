"""Development tooling, not part of the operator: the local control plane (kube-apiserver + etcd
built from their Go modules), the moto server, the AWS world seeders and the demo.

It lives beside the ``bucketaccess`` package and is left out of the wheel and the image; the
Makefile and the tests put ``operator/`` on ``PYTHONPATH`` to use it.
"""
