# The devices our QEMU has: what hypervisor/qemu_argv.c asks for and nothing else
# (hypervisor/qemu/build.sh configures --without-default-devices --with-devices-x86_64=cvm).
# Each device left out is code a compromised guest cannot reach, and QOM types, relocated
# data and heap that every sandbox's QEMU would carry.
CONFIG_PCI_DEVICES=n
# -M microvm (it selects its PIC, APIC, IOAPIC, ISA serial, RTC, virtio-mmio, PCIe host).
CONFIG_MICROVM=y
CONFIG_VIRTIO_PCI=y
# virtio-net-pci (CNI's taps), virtio-rng-pci, virtio-balloon-pci (free page reporting).
CONFIG_VIRTIO_NET=y
CONFIG_VIRTIO_RNG=y
CONFIG_VIRTIO_BALLOON=y
# vhost-user-fs-pci (virtiofsd), vhost-user-vsock-pci (cvm-vsockd), vhost-vsock-pci (KVM).
CONFIG_VHOST_USER_FS=y
CONFIG_VHOST_USER_VSOCK=y
CONFIG_VHOST_VSOCK=y
