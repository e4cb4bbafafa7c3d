# The same outputs as every other root module under infra/ (infra/lab too), so that the driver and
# the Ansible inventory need not know which cloud the hosts are in.

output "master_public_ip" {
  description = "Public IPv4 address of the Locust master: SSH from operator_cidr."
  value       = aws_instance.master.public_ip
}

output "master_private_ip" {
  description = "Private IPv4 address of the Locust master; workers connect to Locust's ZeroMQ port here (the security group admits cluster members only on private addresses)."
  value       = aws_instance.master.private_ip
}

output "worker_public_ips" {
  description = "Public IPv4 addresses of the workers, in worker order; also their holder agents' DIDComm endpoints."
  value       = aws_instance.worker[*].public_ip
}

output "worker_private_ips" {
  description = "Private IPv4 addresses of the workers, in worker order."
  value       = aws_instance.worker[*].private_ip
}

output "ssh_user" {
  description = "User that the driver and Ansible log in as on every host."
  value       = var.ssh_user
}

output "embedded_target_host" {
  description = "Address at which the hosts reach the embedded local target. Always empty here: a cloud VM cannot reach a target on the operator's machine (infra/lab returns its bridge address)."
  value       = ""
}
