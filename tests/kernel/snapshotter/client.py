#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0
"""What containerd asks of nydus-snapshotter for one container of a nydus
image, over its gRPC socket: prepare the image's meta layer, unpack the
bootstrap into it, commit it, then prepare the container's rootfs on it
(which makes the snapshotter bind the image in its nydusd and mount EROFS).

  client.py STUBS_DIR SOCKET up BOOTSTRAP   prints the rootfs mounts as JSON
  client.py STUBS_DIR SOCKET down           removes both snapshots
"""
import hashlib
import json
import os
import shutil
import sys

sys.path.insert(0, sys.argv[1])
import grpc  # noqa: E402
import snapshots_pb2 as pb  # noqa: E402
import snapshots_pb2_grpc as pbg  # noqa: E402

SNAPSHOTTER = "nydus"
CONTAINER = "container-1"
IMAGE_REF = "localhost:5000/fscached/test:latest"
META = (("containerd-namespace", "default"),)


def stub(sock):
    channel = grpc.insecure_channel("unix://" + sock)
    grpc.channel_ready_future(channel).result(timeout=30)
    return pbg.SnapshotsStub(channel)


def chain_of(bootstrap):
    with open(bootstrap, "rb") as f:
        layer = "sha256:" + hashlib.sha256(f.read()).hexdigest()
    return layer, "sha256:" + hashlib.sha256(layer.encode()).hexdigest()


def mounts(ms):
    return [{"type": m.type, "source": m.source, "options": list(m.options)}
            for m in ms]


def up(st, bootstrap):
    layer, chain = chain_of(bootstrap)
    labels = {
        "containerd.io/snapshot.ref": chain,
        "containerd.io/snapshot/nydus-bootstrap": "true",
        "containerd.io/snapshot/cri.image-ref": IMAGE_REF,
        "containerd.io/snapshot/cri.layer-digest": layer,
        "containerd.io/snapshot/cri.manifest-digest": "sha256:" + "0" * 64,
    }
    key = "extract-1 " + chain
    r = st.Prepare(pb.PrepareSnapshotRequest(snapshotter=SNAPSHOTTER, key=key,
                                             labels=labels),
                   metadata=META, timeout=60)
    # containerd's unpack: the meta layer's tar holds image/image.boot.
    dest = r.mounts[0].source
    for o in r.mounts[0].options:
        if o.startswith("upperdir="):
            dest = o.split("=", 1)[1]
    os.makedirs(os.path.join(dest, "image"), exist_ok=True)
    shutil.copyfile(bootstrap, os.path.join(dest, "image", "image.boot"))
    st.Commit(pb.CommitSnapshotRequest(snapshotter=SNAPSHOTTER, name=chain,
                                       key=key, labels=labels),
              metadata=META, timeout=60)
    r = st.Prepare(pb.PrepareSnapshotRequest(
        snapshotter=SNAPSHOTTER, key=CONTAINER, parent=chain,
        labels={"containerd.io/snapshot/cri.image-ref": IMAGE_REF}),
        metadata=META, timeout=120)
    print(json.dumps(mounts(r.mounts)))


def down(st, bootstrap):
    _, chain = chain_of(bootstrap)
    for key in (CONTAINER, chain):
        st.Remove(pb.RemoveSnapshotRequest(snapshotter=SNAPSHOTTER, key=key),
                  metadata=META, timeout=60)


def main():
    sock, verb, bootstrap = sys.argv[2], sys.argv[3], sys.argv[4]
    try:
        {"up": up, "down": down}[verb](stub(sock), bootstrap)
    except grpc.RpcError as e:
        print("%s: %s: %s" % (verb, e.code(), e.details()), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
