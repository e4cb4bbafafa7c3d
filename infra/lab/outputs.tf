# The same outputs as every other root module under infra/, so nothing after provisioning knows
# which cloud it runs on. On the lab, public and private addresses are the same. Each output waits
# for the hosts to exist, so an address is never handed out before its host answers.

output "master_public_ip" {
  description = "Address the controller uses to reach the master (SSH, web UI)."
  value       = local.master
  depends_on  = [terraform_data.hosts]
}

output "master_private_ip" {
  description = "Address the workers use to reach the master (Locust's ZeroMQ port)."
  value       = local.master
  depends_on  = [terraform_data.hosts]
}

output "worker_public_ips" {
  description = "Addresses the controller uses to reach the workers; also their agents' endpoints."
  value       = local.workers
  depends_on  = [terraform_data.hosts]
}

output "worker_private_ips" {
  description = "Addresses of the workers inside the cluster."
  value       = local.workers
  depends_on  = [terraform_data.hosts]
}

output "ssh_user" {
  description = "User the controller logs in as."
  value       = "root"
}

output "embedded_target_host" {
  description = "Address on this machine that the lab hosts reach: the embedded target listens here."
  value       = local.gateway
}
