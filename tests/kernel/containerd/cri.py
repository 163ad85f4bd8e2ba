#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
#
# A CRI image client for tests/kernel/containerd.test: pulls or removes an
# image through containerd's CRI plugin (runtime.v1), as kubelet does.
#   cri.py STUBS_DIR SOCKET pull REF     prints the image id
#   cri.py STUBS_DIR SOCKET rm REF
# STUBS_DIR holds cri_pb2*.py compiled from cri.proto (grpc_tools.protoc).

import sys

sys.dont_write_bytecode = True


def main():
    if len(sys.argv) != 5 or sys.argv[3] not in ("pull", "rm"):
        print("usage: cri.py STUBS_DIR SOCKET pull|rm REF", file=sys.stderr)
        return 2
    stubs, sock, verb, ref = sys.argv[1:]
    sys.path.insert(0, stubs)
    import grpc
    import cri_pb2
    import cri_pb2_grpc

    with grpc.insecure_channel("unix://" + sock) as ch:
        images = cri_pb2_grpc.ImageServiceStub(ch)
        spec = cri_pb2.ImageSpec(image=ref)
        try:
            if verb == "pull":
                r = images.PullImage(cri_pb2.PullImageRequest(image=spec),
                                     timeout=180)
                print(r.image_ref)
            else:
                images.RemoveImage(cri_pb2.RemoveImageRequest(image=spec),
                                   timeout=60)
        except grpc.RpcError as e:
            print("cri.py: %s %s: %s: %s" % (verb, ref, e.code().name,
                                             e.details()), file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
