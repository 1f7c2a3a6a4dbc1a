"""Field tables for the Kubernetes messages ferry decodes from protobuf, in a compact notation.

Facts transcribed from the ``generated.proto`` files of k8s.io/api and k8s.io/apimachinery v0.32
(field numbers and proto types) joined with the Go ``types.go`` structs of the same release (which
fields are pointers, which JSON tags lack ``omitempty``, which are ``json:",inline"``). The Go side
matters because proto2 as Kubernetes writes it cannot say "unset" for a non-pointer scalar: Go emits
every non-pointer field, zero or not, and omits only nil pointers.

Notation, one message per entry (continuation lines are indented)::

    Name: jsonName=number[:type][flags] ...
    Alias = Other                       # same field table under another name

``type`` defaults to ``s``. Scalars: ``s`` string, ``b`` bool, ``i32``/``i64`` ints, ``y`` bytes
(base64 in JSON). Kubernetes types with their own JSON form: ``q`` resource.Quantity (``{1: string}``),
``ios`` intstr.IntOrString, ``t`` meta Time (RFC 3339, whole seconds), ``mt`` MicroTime (microseconds),
``fv1`` FieldsV1 (raw JSON). Anything else names a message. ``[T]`` is a repeated field, ``{T}`` a
``map<string, T>`` (wire: repeated ``{1: key, 2: value}`` entries).

Flags say how the Go field maps to JSON, which is what the decoder needs to drop Go's zero fill:

* ``*`` the Go field is a pointer: present on the wire means *set*, so a zero value (``0``, ``false``,
  ``""``, an empty ``emptyDir: {}``) is kept;
* ``!`` the Go field has no ``omitempty``: Go's JSON prints it even when zero, so a zero is kept;
* ``^`` the Go field is embedded ``json:",inline"``: its JSON fields merge into the parent object;
* no flag: ``omitempty`` and not a pointer: a zero value is Go's fill and is dropped.

Messages (non-pointer structs) that decode to ``{}`` are dropped; so are empty lists and maps (proto
cannot tell nil from empty). ``Condition.lastTransitionTime`` and other non-pointer Times are zero
when absent, which Go prints as ``null``: dropped too.

Coverage: everything reachable from the kinds in :data:`KINDS` (the typed-client writes of kubectl
``create ...``, ``auth can-i``, Helm's release storage and typed deletes), complete down to every
PodSpec/Container field and every volume source of v0.32. Fields added upstream after v0.32 are
unknown numbers and are skipped, like Go skips them.

This module is mostly one data table (over the 400-line guideline on purpose: splitting a table by
line count would only scatter it). :data:`MESSAGES` is built and cross-checked at import; a typo in
the table fails the import and the tests, never a request.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Types decoded without a message table: plain scalars and the Kubernetes types with custom JSON.
SCALARS = frozenset({"s", "b", "i32", "i64", "y", "q", "ios", "t", "mt", "fv1"})


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a message table: JSON name, wire number, value type and the Go-side flags."""

    name: str
    number: int
    type: str
    repeated: bool = False
    map: bool = False
    pointer: bool = False
    keep_zero: bool = False
    inline: bool = False

    @property
    def is_message(self) -> bool:
        return self.type not in SCALARS


@dataclass(frozen=True, slots=True)
class Message:
    """A message table: fields by wire number, in Go struct (JSON output) order."""

    name: str
    fields: dict[int, Field]


_FIELD = re.compile(r"^(\w+)=(\d+)(?::(\[\w+\]|\{\w+\}|\w+))?([*!^]?)$")


def _parse_field(token: str, owner: str) -> Field:
    match = _FIELD.match(token)
    if match is None:
        raise RuntimeError(f"protobuf table: bad field {token!r} in {owner}")
    name, number, spec, flag = match.groups()
    spec = spec or "s"
    repeated, is_map = spec.startswith("["), spec.startswith("{")
    return Field(
        name=name,
        number=int(number),
        type=spec.strip("[]{}"),
        repeated=repeated,
        map=is_map,
        pointer=flag == "*",
        keep_zero=flag == "!",
        inline=flag == "^",
    )


def _parse(table: str) -> dict[str, Message]:
    entries: list[str] = []
    for line in table.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.startswith(" "):
            entries[-1] += " " + line.strip()
        else:
            entries.append(line.strip())
    messages: dict[str, Message] = {}
    aliases: dict[str, str] = {}
    for entry in entries:
        if " = " in entry:
            alias, target = (part.strip() for part in entry.split(" = "))
            aliases[alias] = target
            continue
        name, _, body = entry.partition(":")
        fields: dict[int, Field] = {}
        for token in body.split():
            field = _parse_field(token, name)
            if field.number in fields:
                raise RuntimeError(f"protobuf table: {name} repeats field number {field.number}")
            fields[field.number] = field
        messages[name] = Message(name, fields)
    for alias, target in aliases.items():
        messages[alias] = Message(alias, messages[target].fields)
    _check(messages)
    return messages


def _check(messages: dict[str, Message]) -> None:
    for message in messages.values():
        names = [f.name for f in message.fields.values()]
        if len(names) != len(set(names)):
            raise RuntimeError(f"protobuf table: {message.name} repeats a JSON name")
        for f in message.fields.values():
            if f.is_message and f.type not in messages:
                raise RuntimeError(f"protobuf table: {message.name}.{f.name} names unknown {f.type}")
            if f.inline and (not f.is_message or f.repeated or f.map):
                raise RuntimeError(f"protobuf table: {message.name}.{f.name} cannot be inline")


_TABLE = """
# meta.k8s.io/v1 (k8s.io/apimachinery pkg/apis/meta/v1)
ObjectMeta: name=1 generateName=2 namespace=3 selfLink=4 uid=5 resourceVersion=6 generation=7:i64
    creationTimestamp=8:t deletionTimestamp=9:t* deletionGracePeriodSeconds=10:i64* labels=11:{s}
    annotations=12:{s} ownerReferences=13:[OwnerReference] finalizers=14:[s]
    managedFields=17:[ManagedFieldsEntry]
OwnerReference: apiVersion=5! kind=1! name=3! uid=4! controller=6:b* blockOwnerDeletion=7:b*
ManagedFieldsEntry: manager=1 operation=2 apiVersion=3 time=4:t* fieldsType=6 fieldsV1=7:fv1*
    subresource=8
Condition: type=1! status=2! observedGeneration=3:i64 lastTransitionTime=4:t reason=5! message=6!
LabelSelector: matchLabels=1:{s} matchExpressions=2:[LabelSelectorRequirement]
LabelSelectorRequirement: key=1! operator=2! values=3:[s]
FieldSelectorRequirement: key=1! operator=2! values=3:[s]
DeleteOptions: gracePeriodSeconds=1:i64* preconditions=2:Preconditions* orphanDependents=3:b*
    propagationPolicy=4* dryRun=5:[s] ignoreStoreReadErrorWithClusterBreakingPotential=6:b*
Preconditions: uid=1* resourceVersion=2*
# core/v1
ConfigMap: metadata=1:ObjectMeta immutable=4:b* data=2:{s} binaryData=3:{y}
Secret: metadata=1:ObjectMeta immutable=5:b* data=2:{y} stringData=4:{s} type=3
Namespace: metadata=1:ObjectMeta spec=2:NamespaceSpec status=3:NamespaceStatus
NamespaceSpec: finalizers=1:[s]
NamespaceStatus: phase=1 conditions=2:[NamespaceCondition]
NamespaceCondition: type=1! status=2! lastTransitionTime=4:t reason=5 message=6
Service: metadata=1:ObjectMeta spec=2:ServiceSpec status=3:ServiceStatus
ServiceSpec: ports=1:[ServicePort] selector=2:{s} clusterIP=3 clusterIPs=18:[s] type=4 externalIPs=5:[s]
    sessionAffinity=7 loadBalancerIP=8 loadBalancerSourceRanges=9:[s] externalName=10
    externalTrafficPolicy=11 healthCheckNodePort=12:i32 publishNotReadyAddresses=13:b
    sessionAffinityConfig=14:SessionAffinityConfig* ipFamilies=19:[s] ipFamilyPolicy=17*
    allocateLoadBalancerNodePorts=20:b* loadBalancerClass=21* internalTrafficPolicy=22*
    trafficDistribution=23*
ServicePort: name=1 protocol=2 appProtocol=6* port=3:i32! targetPort=4:ios nodePort=5:i32
SessionAffinityConfig: clientIP=1:ClientIPConfig*
ClientIPConfig: timeoutSeconds=1:i32*
ServiceStatus: loadBalancer=1:LoadBalancerStatus conditions=2:[Condition]
LoadBalancerStatus: ingress=1:[LoadBalancerIngress]
LoadBalancerIngress: ip=1 hostname=2 ipMode=3* ports=4:[PortStatus]
PortStatus: port=1:i32! protocol=2! error=3*
PodTemplateSpec: metadata=1:ObjectMeta spec=2:PodSpec
PodSpec: volumes=1:[Volume] initContainers=20:[Container] containers=2:[Container]
    ephemeralContainers=34:[EphemeralContainer] restartPolicy=3 terminationGracePeriodSeconds=4:i64*
    activeDeadlineSeconds=5:i64* dnsPolicy=6 nodeSelector=7:{s} serviceAccountName=8 serviceAccount=9
    automountServiceAccountToken=21:b* nodeName=10 hostNetwork=11:b hostPID=12:b hostIPC=13:b
    shareProcessNamespace=27:b* securityContext=14:PodSecurityContext*
    imagePullSecrets=15:[LocalObjectReference] hostname=16 subdomain=17 affinity=18:Affinity*
    schedulerName=19 tolerations=22:[Toleration] hostAliases=23:[HostAlias] priorityClassName=24
    priority=25:i32* dnsConfig=26:PodDNSConfig* readinessGates=28:[PodReadinessGate]
    runtimeClassName=29* enableServiceLinks=30:b* preemptionPolicy=31* overhead=32:{q}
    topologySpreadConstraints=33:[TopologySpreadConstraint] setHostnameAsFQDN=35:b* os=36:PodOS*
    hostUsers=37:b* schedulingGates=38:[PodSchedulingGate] resourceClaims=39:[PodResourceClaim]
    resources=40:ResourceRequirements*
Volume: name=1! volumeSource=2:VolumeSource^
VolumeSource: hostPath=1:HostPathVolumeSource* emptyDir=2:EmptyDirVolumeSource*
    gcePersistentDisk=3:GCEPersistentDiskVolumeSource*
    awsElasticBlockStore=4:AWSElasticBlockStoreVolumeSource* gitRepo=5:GitRepoVolumeSource*
    secret=6:SecretVolumeSource* nfs=7:NFSVolumeSource* iscsi=8:ISCSIVolumeSource*
    glusterfs=9:GlusterfsVolumeSource* persistentVolumeClaim=10:PersistentVolumeClaimVolumeSource*
    rbd=11:RBDVolumeSource* flexVolume=12:FlexVolumeSource* cinder=13:CinderVolumeSource*
    cephfs=14:CephFSVolumeSource* flocker=15:FlockerVolumeSource*
    downwardAPI=16:DownwardAPIVolumeSource* fc=17:FCVolumeSource* azureFile=18:AzureFileVolumeSource*
    configMap=19:ConfigMapVolumeSource* vsphereVolume=20:VsphereVirtualDiskVolumeSource*
    quobyte=21:QuobyteVolumeSource* azureDisk=22:AzureDiskVolumeSource*
    photonPersistentDisk=23:PhotonPersistentDiskVolumeSource* projected=26:ProjectedVolumeSource*
    portworxVolume=24:PortworxVolumeSource* scaleIO=25:ScaleIOVolumeSource*
    storageos=27:StorageOSVolumeSource* csi=28:CSIVolumeSource* ephemeral=29:EphemeralVolumeSource*
    image=30:ImageVolumeSource*
HostPathVolumeSource: path=1! type=2*
EmptyDirVolumeSource: medium=1 sizeLimit=2:q*
GCEPersistentDiskVolumeSource: pdName=1! fsType=2 partition=3:i32 readOnly=4:b
AWSElasticBlockStoreVolumeSource: volumeID=1! fsType=2 partition=3:i32 readOnly=4:b
GitRepoVolumeSource: repository=1! revision=2 directory=3
SecretVolumeSource: secretName=1 items=2:[KeyToPath] defaultMode=3:i32* optional=4:b*
KeyToPath: key=1! path=2! mode=3:i32*
NFSVolumeSource: server=1! path=2! readOnly=3:b
ISCSIVolumeSource: targetPortal=1! iqn=2! lun=3:i32! iscsiInterface=4 fsType=5 readOnly=6:b
    portals=7:[s] chapAuthDiscovery=8:b chapAuthSession=11:b secretRef=10:LocalObjectReference*
    initiatorName=12*
LocalObjectReference: name=1
GlusterfsVolumeSource: endpoints=1! path=2! readOnly=3:b
PersistentVolumeClaimVolumeSource: claimName=1! readOnly=2:b
RBDVolumeSource: monitors=1:[s] image=2! fsType=3 pool=4 user=5 keyring=6
    secretRef=7:LocalObjectReference* readOnly=8:b
FlexVolumeSource: driver=1! fsType=2 secretRef=3:LocalObjectReference* readOnly=4:b options=5:{s}
CinderVolumeSource: volumeID=1! fsType=2 readOnly=3:b secretRef=4:LocalObjectReference*
CephFSVolumeSource: monitors=1:[s] path=2 user=3 secretFile=4 secretRef=5:LocalObjectReference*
    readOnly=6:b
FlockerVolumeSource: datasetName=1 datasetUUID=2
DownwardAPIVolumeSource: items=1:[DownwardAPIVolumeFile] defaultMode=2:i32*
DownwardAPIVolumeFile: path=1! fieldRef=2:ObjectFieldSelector* resourceFieldRef=3:ResourceFieldSelector*
    mode=4:i32*
ObjectFieldSelector: apiVersion=1 fieldPath=2!
ResourceFieldSelector: containerName=1 resource=2! divisor=3:q
FCVolumeSource: targetWWNs=1:[s] lun=2:i32* fsType=3 readOnly=4:b wwids=5:[s]
AzureFileVolumeSource: secretName=1! shareName=2! readOnly=3:b
ConfigMapVolumeSource: localObjectReference=1:LocalObjectReference^ items=2:[KeyToPath]
    defaultMode=3:i32* optional=4:b*
VsphereVirtualDiskVolumeSource: volumePath=1! fsType=2 storagePolicyName=3 storagePolicyID=4
QuobyteVolumeSource: registry=1! volume=2! readOnly=3:b user=4 group=5 tenant=6
AzureDiskVolumeSource: diskName=1! diskURI=2! cachingMode=3* fsType=4* readOnly=5:b* kind=6*
PhotonPersistentDiskVolumeSource: pdID=1! fsType=2
ProjectedVolumeSource: sources=1:[VolumeProjection] defaultMode=2:i32*
VolumeProjection: secret=1:SecretProjection* downwardAPI=2:DownwardAPIProjection*
    configMap=3:ConfigMapProjection* serviceAccountToken=4:ServiceAccountTokenProjection*
    clusterTrustBundle=5:ClusterTrustBundleProjection*
SecretProjection: localObjectReference=1:LocalObjectReference^ items=2:[KeyToPath] optional=4:b*
DownwardAPIProjection: items=1:[DownwardAPIVolumeFile]
ConfigMapProjection: localObjectReference=1:LocalObjectReference^ items=2:[KeyToPath] optional=4:b*
ServiceAccountTokenProjection: audience=1 expirationSeconds=2:i64* path=3!
ClusterTrustBundleProjection: name=1* signerName=2* labelSelector=3:LabelSelector* optional=5:b* path=4!
PortworxVolumeSource: volumeID=1! fsType=2 readOnly=3:b
ScaleIOVolumeSource: gateway=1! system=2! secretRef=3:LocalObjectReference* sslEnabled=4:b
    protectionDomain=5 storagePool=6 storageMode=7 volumeName=8 fsType=9 readOnly=10:b
StorageOSVolumeSource: volumeName=1 volumeNamespace=2 fsType=3 readOnly=4:b
    secretRef=5:LocalObjectReference*
CSIVolumeSource: driver=1! readOnly=2:b* fsType=3* volumeAttributes=4:{s}
    nodePublishSecretRef=5:LocalObjectReference*
EphemeralVolumeSource: volumeClaimTemplate=1:PersistentVolumeClaimTemplate*
PersistentVolumeClaimTemplate: metadata=1:ObjectMeta spec=2:PersistentVolumeClaimSpec
PersistentVolumeClaimSpec: accessModes=1:[s] selector=4:LabelSelector*
    resources=2:VolumeResourceRequirements volumeName=3 storageClassName=5* volumeMode=6*
    dataSource=7:TypedLocalObjectReference* dataSourceRef=8:TypedObjectReference*
    volumeAttributesClassName=9*
VolumeResourceRequirements: limits=1:{q} requests=2:{q}
TypedLocalObjectReference: apiGroup=1* kind=2! name=3!
TypedObjectReference: apiGroup=1* kind=2! name=3! namespace=4*
ImageVolumeSource: reference=1 pullPolicy=2
Container: name=1! image=2 command=3:[s] args=4:[s] workingDir=5 ports=6:[ContainerPort]
    envFrom=19:[EnvFromSource] env=7:[EnvVar] resources=8:ResourceRequirements
    resizePolicy=23:[ContainerResizePolicy] restartPolicy=24* volumeMounts=9:[VolumeMount]
    volumeDevices=21:[VolumeDevice] livenessProbe=10:Probe* readinessProbe=11:Probe*
    startupProbe=22:Probe* lifecycle=12:Lifecycle* terminationMessagePath=13 terminationMessagePolicy=20
    imagePullPolicy=14 securityContext=15:SecurityContext* stdin=16:b stdinOnce=17:b tty=18:b
ContainerPort: name=1 hostPort=2:i32 containerPort=3:i32! protocol=4 hostIP=5
EnvFromSource: prefix=1 configMapRef=2:ConfigMapEnvSource* secretRef=3:SecretEnvSource*
ConfigMapEnvSource: localObjectReference=1:LocalObjectReference^ optional=2:b*
SecretEnvSource: localObjectReference=1:LocalObjectReference^ optional=2:b*
EnvVar: name=1! value=2 valueFrom=3:EnvVarSource*
EnvVarSource: fieldRef=1:ObjectFieldSelector* resourceFieldRef=2:ResourceFieldSelector*
    configMapKeyRef=3:ConfigMapKeySelector* secretKeyRef=4:SecretKeySelector*
ConfigMapKeySelector: localObjectReference=1:LocalObjectReference^ key=2! optional=3:b*
SecretKeySelector: localObjectReference=1:LocalObjectReference^ key=2! optional=3:b*
ResourceRequirements: limits=1:{q} requests=2:{q} claims=3:[ResourceClaim]
ResourceClaim: name=1! request=2
ContainerResizePolicy: resourceName=1! restartPolicy=2!
VolumeMount: name=1! readOnly=2:b recursiveReadOnly=7* mountPath=3! subPath=4 mountPropagation=5*
    subPathExpr=6
VolumeDevice: name=1! devicePath=2!
Probe: handler=1:ProbeHandler^ initialDelaySeconds=2:i32 timeoutSeconds=3:i32 periodSeconds=4:i32
    successThreshold=5:i32 failureThreshold=6:i32 terminationGracePeriodSeconds=7:i64*
ProbeHandler: exec=1:ExecAction* httpGet=2:HTTPGetAction* tcpSocket=3:TCPSocketAction*
    grpc=4:GRPCAction*
ExecAction: command=1:[s]
HTTPGetAction: path=1 port=2:ios! host=3 scheme=4 httpHeaders=5:[HTTPHeader]
HTTPHeader: name=1! value=2!
TCPSocketAction: port=1:ios! host=2
GRPCAction: port=1:i32! service=2*
Lifecycle: postStart=1:LifecycleHandler* preStop=2:LifecycleHandler*
LifecycleHandler: exec=1:ExecAction* httpGet=2:HTTPGetAction* tcpSocket=3:TCPSocketAction*
    sleep=4:SleepAction*
SleepAction: seconds=1:i64!
SecurityContext: capabilities=1:Capabilities* privileged=2:b* seLinuxOptions=3:SELinuxOptions*
    windowsOptions=10:WindowsSecurityContextOptions* runAsUser=4:i64* runAsGroup=8:i64*
    runAsNonRoot=5:b* readOnlyRootFilesystem=6:b* allowPrivilegeEscalation=7:b* procMount=9*
    seccompProfile=11:SeccompProfile* appArmorProfile=12:AppArmorProfile*
Capabilities: add=1:[s] drop=2:[s]
SELinuxOptions: user=1 role=2 type=3 level=4
WindowsSecurityContextOptions: gmsaCredentialSpecName=1* gmsaCredentialSpec=2* runAsUserName=3*
    hostProcess=4:b*
SeccompProfile: type=1! localhostProfile=2*
AppArmorProfile: type=1! localhostProfile=2*
EphemeralContainer: ephemeralContainerCommon=1:EphemeralContainerCommon^ targetContainerName=2
EphemeralContainerCommon = Container
PodSecurityContext: seLinuxOptions=1:SELinuxOptions* windowsOptions=8:WindowsSecurityContextOptions*
    runAsUser=2:i64* runAsGroup=6:i64* runAsNonRoot=3:b* supplementalGroups=4:[i64]
    supplementalGroupsPolicy=12* fsGroup=5:i64* sysctls=7:[Sysctl] fsGroupChangePolicy=9*
    seccompProfile=10:SeccompProfile* appArmorProfile=11:AppArmorProfile* seLinuxChangePolicy=13*
Sysctl: name=1! value=2!
Affinity: nodeAffinity=1:NodeAffinity* podAffinity=2:PodAffinity* podAntiAffinity=3:PodAntiAffinity*
NodeAffinity: requiredDuringSchedulingIgnoredDuringExecution=1:NodeSelector*
    preferredDuringSchedulingIgnoredDuringExecution=2:[PreferredSchedulingTerm]
NodeSelector: nodeSelectorTerms=1:[NodeSelectorTerm]
NodeSelectorTerm: matchExpressions=1:[NodeSelectorRequirement] matchFields=2:[NodeSelectorRequirement]
NodeSelectorRequirement: key=1! operator=2! values=3:[s]
PreferredSchedulingTerm: weight=1:i32! preference=2:NodeSelectorTerm
PodAffinity: requiredDuringSchedulingIgnoredDuringExecution=1:[PodAffinityTerm]
    preferredDuringSchedulingIgnoredDuringExecution=2:[WeightedPodAffinityTerm]
PodAffinityTerm: labelSelector=1:LabelSelector* namespaces=2:[s] topologyKey=3!
    namespaceSelector=4:LabelSelector* matchLabelKeys=5:[s] mismatchLabelKeys=6:[s]
WeightedPodAffinityTerm: weight=1:i32! podAffinityTerm=2:PodAffinityTerm
PodAntiAffinity: requiredDuringSchedulingIgnoredDuringExecution=1:[PodAffinityTerm]
    preferredDuringSchedulingIgnoredDuringExecution=2:[WeightedPodAffinityTerm]
Toleration: key=1 operator=2 value=3 effect=4 tolerationSeconds=5:i64*
HostAlias: ip=1! hostnames=2:[s]
PodDNSConfig: nameservers=1:[s] searches=2:[s] options=3:[PodDNSConfigOption]
PodDNSConfigOption: name=1 value=2*
PodReadinessGate: conditionType=1!
TopologySpreadConstraint: maxSkew=1:i32! topologyKey=2! whenUnsatisfiable=3!
    labelSelector=4:LabelSelector* minDomains=5:i32* nodeAffinityPolicy=6* nodeTaintsPolicy=7*
    matchLabelKeys=8:[s]
PodOS: name=1!
PodSchedulingGate: name=1!
PodResourceClaim: name=1! resourceClaimName=3* resourceClaimTemplateName=4*
Pod: metadata=1:ObjectMeta spec=2:PodSpec status=3:PodStatus
PodStatus: phase=1 conditions=2:[PodCondition] message=3 reason=4 nominatedNodeName=11 hostIP=5
    hostIPs=16:[HostIP] podIP=6 podIPs=12:[PodIP] startTime=7:t*
    initContainerStatuses=10:[ContainerStatus] containerStatuses=8:[ContainerStatus] qosClass=9
    ephemeralContainerStatuses=13:[ContainerStatus] resize=14
    resourceClaimStatuses=15:[PodResourceClaimStatus]
PodCondition: type=1! status=2! lastProbeTime=3:t lastTransitionTime=4:t reason=5 message=6
HostIP: ip=1!
PodIP: ip=1!
ContainerStatus: name=1! state=2:ContainerState lastState=3:ContainerState ready=4:b!
    restartCount=5:i32! image=6! imageID=7! containerID=8 started=9:b* allocatedResources=10:{q}
    resources=11:ResourceRequirements* volumeMounts=12:[VolumeMountStatus] user=13:ContainerUser*
    allocatedResourcesStatus=14:[ResourceStatus]
ContainerState: waiting=1:ContainerStateWaiting* running=2:ContainerStateRunning*
    terminated=3:ContainerStateTerminated*
ContainerStateWaiting: reason=1 message=2
ContainerStateRunning: startedAt=1:t
ContainerStateTerminated: exitCode=1:i32! signal=2:i32 reason=3 message=4 startedAt=5:t finishedAt=6:t
    containerID=7
VolumeMountStatus: name=1! mountPath=2! readOnly=3:b recursiveReadOnly=4*
ContainerUser: linux=1:LinuxContainerUser*
LinuxContainerUser: uid=1:i64! gid=2:i64! supplementalGroups=3:[i64]
ResourceStatus: name=1! resources=2:[ResourceHealth]
ResourceHealth: resourceID=1! health=2
PodResourceClaimStatus: name=1! resourceClaimName=2*
ServiceAccount: metadata=1:ObjectMeta secrets=2:[ObjectReference]
    imagePullSecrets=3:[LocalObjectReference] automountServiceAccountToken=4:b*
ObjectReference: kind=1 namespace=2 name=3 uid=4 apiVersion=5 resourceVersion=6 fieldPath=7
Event: metadata=1:ObjectMeta involvedObject=2:ObjectReference reason=3 message=4 source=5:EventSource
    firstTimestamp=6:t lastTimestamp=7:t count=8:i32 type=9 eventTime=10:mt series=11:EventSeries*
    action=12 related=13:ObjectReference* reportingComponent=14! reportingInstance=15!
EventSource: component=1 host=2
EventSeries: count=1:i32 lastObservedTime=2:mt
ResourceQuota: metadata=1:ObjectMeta spec=2:ResourceQuotaSpec status=3:ResourceQuotaStatus
ResourceQuotaSpec: hard=1:{q} scopes=2:[s] scopeSelector=3:ScopeSelector*
ScopeSelector: matchExpressions=1:[ScopedResourceSelectorRequirement]
ScopedResourceSelectorRequirement: scopeName=1! operator=2! values=3:[s]
ResourceQuotaStatus: hard=1:{q} used=2:{q}
# apps/v1
Deployment: metadata=1:ObjectMeta spec=2:DeploymentSpec status=3:DeploymentStatus
DeploymentSpec: replicas=1:i32* selector=2:LabelSelector* template=3:PodTemplateSpec
    strategy=4:DeploymentStrategy minReadySeconds=5:i32 revisionHistoryLimit=6:i32* paused=7:b
    progressDeadlineSeconds=9:i32*
DeploymentStrategy: type=1 rollingUpdate=2:RollingUpdateDeployment*
RollingUpdateDeployment: maxUnavailable=1:ios* maxSurge=2:ios*
DeploymentStatus: observedGeneration=1:i64 replicas=2:i32 updatedReplicas=3:i32 readyReplicas=7:i32
    availableReplicas=4:i32 unavailableReplicas=5:i32 conditions=6:[DeploymentCondition]
    collisionCount=8:i32*
DeploymentCondition: type=1! status=2! lastUpdateTime=6:t lastTransitionTime=7:t reason=4 message=5
ReplicaSet: metadata=1:ObjectMeta spec=2:ReplicaSetSpec status=3:ReplicaSetStatus
ReplicaSetSpec: replicas=1:i32* minReadySeconds=4:i32 selector=2:LabelSelector*
    template=3:PodTemplateSpec
ReplicaSetStatus: replicas=1:i32! fullyLabeledReplicas=2:i32 readyReplicas=4:i32 availableReplicas=5:i32
    observedGeneration=3:i64 conditions=6:[ReplicaSetCondition]
ReplicaSetCondition: type=1! status=2! lastTransitionTime=3:t reason=4 message=5
# batch/v1
Job: metadata=1:ObjectMeta spec=2:JobSpec status=3:JobStatus
JobSpec: parallelism=1:i32* completions=2:i32* activeDeadlineSeconds=3:i64*
    podFailurePolicy=11:PodFailurePolicy* successPolicy=16:SuccessPolicy* backoffLimit=7:i32*
    backoffLimitPerIndex=12:i32* maxFailedIndexes=13:i32* selector=4:LabelSelector* manualSelector=5:b*
    template=6:PodTemplateSpec ttlSecondsAfterFinished=8:i32* completionMode=9* suspend=10:b*
    podReplacementPolicy=14* managedBy=15*
PodFailurePolicy: rules=1:[PodFailurePolicyRule]
PodFailurePolicyRule: action=1! onExitCodes=2:PodFailurePolicyOnExitCodesRequirement*
    onPodConditions=3:[PodFailurePolicyOnPodConditionsPattern]
PodFailurePolicyOnExitCodesRequirement: containerName=1* operator=2! values=3:[i32]
PodFailurePolicyOnPodConditionsPattern: type=1! status=2!
SuccessPolicy: rules=1:[SuccessPolicyRule]
SuccessPolicyRule: succeededIndexes=1* succeededCount=2:i32*
JobStatus: conditions=1:[JobCondition] startTime=2:t* completionTime=3:t* active=4:i32 succeeded=5:i32
    failed=6:i32 terminating=11:i32* completedIndexes=7 failedIndexes=10*
    uncountedTerminatedPods=8:UncountedTerminatedPods* ready=9:i32*
JobCondition: type=1! status=2! lastProbeTime=3:t lastTransitionTime=4:t reason=5 message=6
UncountedTerminatedPods: succeeded=1:[s] failed=2:[s]
CronJob: metadata=1:ObjectMeta spec=2:CronJobSpec status=3:CronJobStatus
CronJobSpec: schedule=1! timeZone=8* startingDeadlineSeconds=2:i64* concurrencyPolicy=3 suspend=4:b*
    jobTemplate=5:JobTemplateSpec successfulJobsHistoryLimit=6:i32* failedJobsHistoryLimit=7:i32*
JobTemplateSpec: metadata=1:ObjectMeta spec=2:JobSpec
CronJobStatus: active=1:[ObjectReference] lastScheduleTime=4:t* lastSuccessfulTime=5:t*
# authorization.k8s.io/v1
SelfSubjectAccessReview: metadata=1:ObjectMeta spec=2:SelfSubjectAccessReviewSpec
    status=3:SubjectAccessReviewStatus
SelfSubjectAccessReviewSpec: resourceAttributes=1:ResourceAttributes*
    nonResourceAttributes=2:NonResourceAttributes*
ResourceAttributes: namespace=1 verb=2 group=3 version=4 resource=5 subresource=6 name=7
    fieldSelector=8:FieldSelectorAttributes* labelSelector=9:LabelSelectorAttributes*
FieldSelectorAttributes: rawSelector=1 requirements=2:[FieldSelectorRequirement]
LabelSelectorAttributes: rawSelector=1 requirements=2:[LabelSelectorRequirement]
NonResourceAttributes: path=1 verb=2
SubjectAccessReviewStatus: allowed=1:b! denied=4:b reason=2 evaluationError=3
# coordination.k8s.io/v1
Lease: metadata=1:ObjectMeta spec=2:LeaseSpec
LeaseSpec: holderIdentity=1* leaseDurationSeconds=2:i32* acquireTime=3:mt* renewTime=4:mt*
    leaseTransitions=5:i32* strategy=6* preferredHolder=7*
# rbac.authorization.k8s.io/v1
Role: metadata=1:ObjectMeta rules=2:[PolicyRule]
PolicyRule: verbs=1:[s] apiGroups=2:[s] resources=3:[s] resourceNames=4:[s] nonResourceURLs=5:[s]
ClusterRole: metadata=1:ObjectMeta rules=2:[PolicyRule] aggregationRule=3:AggregationRule*
AggregationRule: clusterRoleSelectors=1:[LabelSelector]
RoleBinding: metadata=1:ObjectMeta subjects=2:[Subject] roleRef=3:RoleRef
Subject: kind=1! apiGroup=2 name=3! namespace=4
RoleRef: apiGroup=1! kind=2! name=3!
ClusterRoleBinding: metadata=1:ObjectMeta subjects=2:[Subject] roleRef=3:RoleRef
# networking.k8s.io/v1
Ingress: metadata=1:ObjectMeta spec=2:IngressSpec status=3:IngressStatus
IngressSpec: ingressClassName=4* defaultBackend=1:IngressBackend* tls=2:[IngressTLS]
    rules=3:[IngressRule]
IngressBackend: service=4:IngressServiceBackend* resource=3:TypedLocalObjectReference*
IngressServiceBackend: name=1! port=2:ServiceBackendPort
ServiceBackendPort: name=1 number=2:i32
IngressTLS: hosts=1:[s] secretName=2
IngressRule: host=1 ingressRuleValue=2:IngressRuleValue^
IngressRuleValue: http=1:HTTPIngressRuleValue*
HTTPIngressRuleValue: paths=1:[HTTPIngressPath]
HTTPIngressPath: path=1 pathType=3* backend=2:IngressBackend
IngressStatus: loadBalancer=1:IngressLoadBalancerStatus
IngressLoadBalancerStatus: ingress=1:[IngressLoadBalancerIngress]
IngressLoadBalancerIngress: ip=1 hostname=2 ports=4:[IngressPortStatus]
IngressPortStatus: port=1:i32! protocol=2! error=3*
# policy/v1
PodDisruptionBudget: metadata=1:ObjectMeta spec=2:PodDisruptionBudgetSpec
    status=3:PodDisruptionBudgetStatus
PodDisruptionBudgetSpec: minAvailable=1:ios* selector=2:LabelSelector* maxUnavailable=3:ios*
    unhealthyPodEvictionPolicy=4*
PodDisruptionBudgetStatus: observedGeneration=1:i64 disruptedPods=2:{t} disruptionsAllowed=3:i32!
    currentHealthy=4:i32! desiredHealthy=5:i32! expectedPods=6:i32! conditions=7:[Condition]
# scheduling.k8s.io/v1
PriorityClass: metadata=1:ObjectMeta value=2:i32! globalDefault=3:b description=4 preemptionPolicy=5*
# authentication.k8s.io/v1
TokenRequest: metadata=1:ObjectMeta spec=2:TokenRequestSpec status=3:TokenRequestStatus
TokenRequestSpec: audiences=1:[s] expirationSeconds=4:i64* boundObjectRef=3:BoundObjectReference*
BoundObjectReference: kind=1 apiVersion=2 name=3 uid=4
TokenRequestStatus: token=1! expirationTimestamp=2:t
"""

MESSAGES: dict[str, Message] = _parse(_TABLE)

# (apiVersion, kind) -> root message. The kinds typed clients write with protobuf bodies.
KINDS: dict[tuple[str, str], str] = {
    **{("v1", k): k for k in ("ConfigMap", "Secret", "Namespace", "Service", "Pod", "ServiceAccount")},
    **{("v1", k): k for k in ("Event", "ResourceQuota")},
    **{("apps/v1", k): k for k in ("Deployment", "ReplicaSet")},
    **{("batch/v1", k): k for k in ("Job", "CronJob")},
    **{
        ("rbac.authorization.k8s.io/v1", k): k
        for k in ("Role", "ClusterRole", "RoleBinding", "ClusterRoleBinding")
    },
    ("authorization.k8s.io/v1", "SelfSubjectAccessReview"): "SelfSubjectAccessReview",
    ("authentication.k8s.io/v1", "TokenRequest"): "TokenRequest",
    ("coordination.k8s.io/v1", "Lease"): "Lease",
    ("networking.k8s.io/v1", "Ingress"): "Ingress",
    ("policy/v1", "PodDisruptionBudget"): "PodDisruptionBudget",
    ("scheduling.k8s.io/v1", "PriorityClass"): "PriorityClass",
}

# Kinds registered in every group-version (metav1.AddToGroupVersion): a typed delete encodes its
# DeleteOptions under the group-version of the client that sends it ("v1", "apps/v1", ...).
EVERY_VERSION_KINDS: dict[str, str] = {"DeleteOptions": "DeleteOptions"}


def message_for(api_version: str, kind: str) -> Message | None:
    """The root message table for a body's ``typeMeta``, or ``None`` if ferry does not decode it."""
    name = KINDS.get((api_version, kind))
    if name is None and api_version:
        name = EVERY_VERSION_KINDS.get(kind)
    return None if name is None else MESSAGES[name]
