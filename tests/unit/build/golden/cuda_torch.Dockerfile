#syntax=docker/dockerfile:1.4
FROM nvidia/cuda:12.1.1-cudnn8-devel-ubuntu22.04
ENV DEBIAN_FRONTEND=noninteractive
ENV PYTHONUNBUFFERED=1
ENV LD_LIBRARY_PATH=$LD_LIBRARY_PATH:/usr/lib/x86_64-linux-gnu:/usr/local/nvidia/lib64:/usr/local/nvidia/bin
ENV NVIDIA_DRIVER_CAPABILITIES=all
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked apt-get update -qq && apt-get install -qqy --no-install-recommends tini && rm -rf /var/lib/apt/lists/* && ln -sf /usr/bin/tini /sbin/tini
ENTRYPOINT ["/sbin/tini", "--"]
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked apt-get update -qq && apt-get install -qqy --no-install-recommends ca-certificates curl git xz-utils && (apt-get install -qqy --no-install-recommends python3.11 python3.11-venv python3.11-dev || (apt-get install -qqy --no-install-recommends software-properties-common gpg-agent && add-apt-repository -y ppa:deadsnakes/ppa && apt-get update -qq && apt-get install -qqy --no-install-recommends python3.11 python3.11-venv python3.11-dev)) && rm -rf /var/lib/apt/lists/* && python3.11 -m venv /opt/cog/python && ln -sf /opt/cog/python/bin/python /usr/local/bin/python && ln -sf /opt/cog/python/bin/python /usr/local/bin/python3
ENV PATH=/opt/cog/python/bin:$PATH
COPY .cog/build/requirements.txt /tmp/requirements.txt
RUN --mount=type=cache,target=/root/.cache/pip python -m pip install --disable-pip-version-check --cache-dir /root/.cache/pip -r /tmp/requirements.txt
COPY .cog/build/cogpy-0.1.0-cp311-cp311-linux_x86_64.whl /tmp/cogpy-0.1.0-cp311-cp311-linux_x86_64.whl
RUN --mount=type=cache,target=/root/.cache/pip python -m pip install --disable-pip-version-check --cache-dir /root/.cache/pip /tmp/cogpy-0.1.0-cp311-cp311-linux_x86_64.whl
RUN find / -type f -name "*python*.so" -printf "%h\n" | sort -u > /etc/ld.so.conf.d/cog.conf && ldconfig
WORKDIR /src
EXPOSE 5000
ENV COG_PREDICT_TYPE_STUB="predict.py:Predictor"
ENV COG_TRAIN_TYPE_STUB="train.py:train"
CMD ["python", "-m", "cog.server.http"]
COPY . /src
